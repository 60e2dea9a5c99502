//! The channel table: which channels are open, frames held for channels not opened yet, and
//! channels closed recently. No I/O here; the connection tasks and [`super::Gateway`] drive it.
//!
//! **Invariants:**
//! - Per peer, held frames stay in arrival order and cost at most `max_bytes` (payload plus
//!   [`FRAME_OVERHEAD`] each); the oldest go first, with a warning naming peer and channel.
//! - A channel's link to a peer, once failed (`dead`), never delivers again: neither frames nor a
//!   second error.
//! - Nothing here logs a payload.

use flume::Sender;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::ChannelId;
use crate::{FrameSource, NetError, PartyId};

/// What one held frame costs beyond its payload, so that many empty frames are bounded too.
pub(super) const FRAME_OVERHEAD: usize = 64;

/// Bounds on held frames.
pub(super) struct Limits {
    /// How long a frame is held, and a closed id remembered.
    pub(super) ttl: Duration,
    /// Per peer, bound on the cost of held frames.
    pub(super) max_bytes: usize,
}

/// A channel's incoming link from one peer.
struct InLink {
    tx: Sender<Result<Bytes, NetError>>,
    /// Shared with the channel's sink to the same peer.
    dead: Arc<AtomicBool>,
    max_frame: usize,
}

impl InLink {
    /// Hand over one frame or the link's final error.
    fn push(&self, peer: PartyId, item: Result<Bytes, NetError>) {
        if self.dead.load(Ordering::Acquire) {
            return;
        }
        let item = match item {
            Ok(b) if b.len() > self.max_frame => Err(NetError::FrameTooLarge {
                peer,
                len: b.len(),
                max: self.max_frame,
            }),
            other => other,
        };
        if item.is_err() {
            self.dead.store(true, Ordering::Release);
        }
        // A closed receiver means the channel is being closed right now; nothing to do.
        let _ = self.tx.send(item);
    }
}

struct OpenChannel {
    /// Tells this opening from a later one of the same id.
    token: u64,
    /// Indexed by peer; `None` at this party's own index.
    links: Vec<Option<InLink>>,
}

/// One frame (or the error that ended its connection) held for a channel not opened yet.
struct Held {
    at: Instant,
    id: ChannelId,
    item: Result<Bytes, NetError>,
}

impl Held {
    fn cost(&self) -> usize {
        FRAME_OVERHEAD + self.item.as_ref().map_or(0, |b| b.len())
    }
}

#[derive(Default)]
struct HeldQueue {
    entries: VecDeque<Held>,
    cost: usize,
}

/// A newly opened channel: its token and, per peer, the source and the shared `dead` flag.
pub(super) struct Opened {
    pub(super) token: u64,
    pub(super) links: Vec<Option<(FrameSource, Arc<AtomicBool>)>>,
}

pub(super) struct Table {
    me: PartyId,
    n: usize,
    limits: Limits,
    open: HashMap<ChannelId, OpenChannel>,
    /// Recently closed ids and when they were closed.
    closed: HashMap<ChannelId, Instant>,
    /// Indexed by peer.
    held: Vec<HeldQueue>,
    next_token: u64,
    /// Who hears of frames that open a conversation: frames for unopened channels whose payload
    /// starts with the magic are held as usual and reported as (peer, channel).
    announce: Vec<(Vec<u8>, Announcements)>,
}

/// Where [`Table::subscribe`] reports (peer, channel) pairs.
type Announcements = tokio::sync::mpsc::UnboundedSender<(PartyId, ChannelId)>;

impl Table {
    pub(super) fn new(me: PartyId, n: usize, limits: Limits) -> Table {
        Table {
            me,
            n,
            limits,
            open: HashMap::new(),
            closed: HashMap::new(),
            held: (0..n).map(|_| HeldQueue::default()).collect(),
            next_token: 1,
            announce: Vec::new(),
        }
    }

    /// Report frames for unopened channels that start with `magic` on `tx` (replaces an earlier
    /// subscriber of the same magic; other magics keep theirs). Conversations that started before the subscription (their first frame is
    /// held already) are reported at once, so a subscriber that comes up after its peers never
    /// misses one.
    pub(super) fn subscribe(
        &mut self,
        magic: Vec<u8>,
        tx: tokio::sync::mpsc::UnboundedSender<(PartyId, ChannelId)>,
    ) {
        for (peer, queue) in self.held.iter().enumerate() {
            let mut seen = HashSet::new();
            for h in &queue.entries {
                if seen.insert(h.id) && matches!(&h.item, Ok(b) if b.starts_with(&magic)) {
                    let _ = tx.send((peer, h.id));
                }
            }
        }
        self.announce.retain(|(m, _)| *m != magic);
        self.announce.push((magic, tx));
    }

    /// Open `id`: a source per peer, already fed with what was held for it.
    pub(super) fn open(&mut self, id: ChannelId, max_frame: usize) -> Result<Opened, NetError> {
        if self.open.contains_key(&id) {
            return Err(NetError::Config(format!(
                "channel {id} is open already on party {}; drop its network before opening it \
                 again",
                self.me
            )));
        }
        self.closed.remove(&id);
        let token = self.next_token;
        self.next_token += 1;
        let mut links = Vec::with_capacity(self.n);
        let mut sources = Vec::with_capacity(self.n);
        for peer in 0..self.n {
            if peer == self.me {
                links.push(None);
                sources.push(None);
                continue;
            }
            let (tx, rx) = flume::unbounded();
            let link = InLink {
                tx,
                dead: Arc::new(AtomicBool::new(false)),
                max_frame,
            };
            let queue = &mut self.held[peer];
            if queue.entries.iter().any(|h| h.id == id) {
                let (mine, rest): (VecDeque<Held>, VecDeque<Held>) =
                    queue.entries.drain(..).partition(|h| h.id == id);
                queue.entries = rest;
                for h in mine {
                    queue.cost -= h.cost();
                    link.push(peer, h.item);
                }
            }
            sources.push(Some((rx, link.dead.clone())));
            links.push(Some(link));
        }
        self.open.insert(id, OpenChannel { token, links });
        Ok(Opened {
            token,
            links: sources,
        })
    }

    /// Close `id` if it is still the opening `token`; remember it as closed from `now`.
    pub(super) fn close(&mut self, id: ChannelId, token: u64, now: Instant) {
        if self.open.get(&id).is_some_and(|c| c.token == token) {
            self.open.remove(&id);
            self.closed.insert(id, now);
        }
    }

    /// A frame of channel `id` arrived from `peer`.
    pub(super) fn deliver(&mut self, peer: PartyId, id: ChannelId, payload: Bytes, now: Instant) {
        if id == super::CONTROL {
            match super::Abort::decode(&payload) {
                Some(a) => self.abort(peer, a, now),
                None => tracing::warn!(peer, "dropping a malformed control frame"),
            }
            return;
        }
        if let Some(ch) = self.open.get(&id) {
            if let Some(Some(link)) = ch.links.get(peer) {
                link.push(peer, Ok(payload));
            }
            return;
        }
        if self.closed.contains_key(&id) {
            tracing::debug!(peer, channel = %id, "dropping a frame for a closed channel");
            return;
        }
        let announced = self
            .announce
            .iter()
            .position(|(magic, _)| payload.starts_with(magic));
        self.hold(peer, id, Ok(payload), now);
        if let Some((_, tx)) = announced.and_then(|i| self.announce.get(i)) {
            let _ = tx.send((peer, id));
        }
    }

    fn hold(&mut self, peer: PartyId, id: ChannelId, item: Result<Bytes, NetError>, now: Instant) {
        let Some(queue) = self.held.get_mut(peer) else {
            return;
        };
        let held = Held { at: now, id, item };
        let cost = held.cost();
        if cost > self.limits.max_bytes {
            tracing::warn!(
                peer,
                channel = %id,
                len = cost - FRAME_OVERHEAD,
                "dropping a frame for a channel not opened here: larger than the whole pending \
                 budget (max_pending_bytes)"
            );
            return;
        }
        while queue.cost + cost > self.limits.max_bytes {
            let Some(old) = queue.entries.pop_front() else {
                break;
            };
            queue.cost -= old.cost();
            tracing::warn!(
                peer,
                channel = %old.id,
                "pending budget (max_pending_bytes) full: dropping the oldest frame held for a \
                 channel not opened here"
            );
        }
        queue.cost += cost;
        queue.entries.push_back(held);
    }

    /// `peer` aborted channel `a.id`: the channel's link to it fails with
    /// [`NetError::Aborted`] — at once if the channel is open here, when it opens if not (held
    /// like a frame, so the ttl and budget apply); a recently closed channel ignores it.
    fn abort(&mut self, peer: PartyId, a: super::Abort, now: Instant) {
        let err = NetError::Aborted {
            peer,
            code: a.code,
            reason: a.reason,
        };
        if let Some(ch) = self.open.get(&a.id) {
            if let Some(Some(link)) = ch.links.get(peer) {
                link.push(peer, Err(err));
            }
            return;
        }
        if self.closed.contains_key(&a.id) {
            return;
        }
        self.hold(peer, a.id, Err(err), now);
    }

    /// The connection to `peer` ended with `err`: every open channel's link to it fails, and
    /// whatever is held from it is replaced by `err` (one per channel), which those channels get
    /// when they open. Callers hold the peer's state lock too (see `Inner::send`).
    pub(super) fn fail_peer(&mut self, peer: PartyId, err: &NetError, now: Instant) {
        for ch in self.open.values() {
            if let Some(Some(link)) = ch.links.get(peer) {
                link.push(peer, Err(err.clone()));
            }
        }
        let Some(queue) = self.held.get_mut(peer) else {
            return;
        };
        let mut seen = HashSet::new();
        let ids: Vec<ChannelId> = queue
            .entries
            .drain(..)
            .filter(|h| seen.insert(h.id))
            .map(|h| h.id)
            .collect();
        queue.cost = 0;
        for id in ids {
            let held = Held {
                at: now,
                id,
                item: Err(err.clone()),
            };
            queue.cost += held.cost();
            queue.entries.push_back(held);
        }
    }

    /// Drop held frames older than the ttl (with a warning per peer and channel) and forget
    /// closed ids older than the ttl.
    pub(super) fn expire(&mut self, now: Instant) {
        let ttl = self.limits.ttl;
        let old = |at: Instant| now.saturating_duration_since(at) >= ttl;
        for (peer, queue) in self.held.iter_mut().enumerate() {
            let mut expired: Vec<(ChannelId, usize)> = Vec::new();
            while queue.entries.front().is_some_and(|h| old(h.at)) {
                let Some(h) = queue.entries.pop_front() else {
                    break;
                };
                queue.cost -= h.cost();
                if h.item.is_ok() {
                    match expired.iter_mut().find(|(id, _)| *id == h.id) {
                        Some((_, k)) => *k += 1,
                        None => expired.push((h.id, 1)),
                    }
                }
            }
            for (id, frames) in expired {
                tracing::warn!(
                    peer,
                    channel = %id,
                    frames,
                    "dropping frames held for a channel that was not opened here within the \
                     pending ttl"
                );
            }
        }
        self.closed.retain(|_, at| !old(*at));
    }

    #[cfg(test)]
    fn held_cost(&self, peer: PartyId) -> usize {
        self.held[peer].cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(max_bytes: usize) -> Table {
        Table::new(
            0,
            3,
            Limits {
                ttl: Duration::from_secs(10),
                max_bytes,
            },
        )
    }

    fn id(k: u8) -> ChannelId {
        ChannelId([k; 16])
    }

    fn source(o: &Opened, peer: PartyId) -> &FrameSource {
        &o.links[peer].as_ref().unwrap().0
    }

    fn drain(rx: &FrameSource) -> Vec<Result<Bytes, NetError>> {
        rx.try_iter().collect()
    }

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn held_frames_are_delivered_in_order_on_open() {
        let mut t = table(1 << 20);
        let now = Instant::now();
        t.deliver(1, id(1), b("a"), now);
        t.deliver(2, id(1), b("x"), now);
        t.deliver(1, id(2), b("other"), now);
        t.deliver(1, id(1), b("b"), now);
        let o = t.open(id(1), 100).unwrap();
        assert!(o.links[0].is_none());
        assert_eq!(drain(source(&o, 1)), vec![Ok(b("a")), Ok(b("b"))]);
        assert_eq!(drain(source(&o, 2)), vec![Ok(b("x"))]);
        // Later frames go straight through; the other channel's frame is still held.
        t.deliver(1, id(1), b("c"), now);
        assert_eq!(drain(source(&o, 1)), vec![Ok(b("c"))]);
        assert_eq!(t.held_cost(1), FRAME_OVERHEAD + 5);
    }

    #[test]
    fn opening_twice_fails_and_closed_ids_drop_frames_until_forgotten() {
        let mut t = table(1 << 20);
        let now = Instant::now();
        let o = t.open(id(1), 100).unwrap();
        let Err(e) = t.open(id(1), 100) else {
            panic!("opened twice")
        };
        assert!(
            matches!(&e, NetError::Config(m) if m.contains(&id(1).to_string())),
            "{e}"
        );
        // A stale token does not close a newer opening.
        t.close(id(1), o.token + 1, now);
        assert!(t.open(id(1), 100).is_err());
        t.close(id(1), o.token, now);
        t.deliver(1, id(1), b("late"), now);
        assert_eq!(t.held_cost(1), 0);
        // After the ttl the id is forgotten and frames are held again.
        t.expire(now + Duration::from_secs(11));
        t.deliver(1, id(1), b("new"), now + Duration::from_secs(11));
        assert_eq!(t.held_cost(1), FRAME_OVERHEAD + 3);
        // Reopening works and gets the new frame only.
        let o = t.open(id(1), 100).unwrap();
        assert_eq!(drain(source(&o, 1)), vec![Ok(b("new"))]);
    }

    #[test]
    fn held_frames_expire_and_the_budget_drops_the_oldest() {
        let cost = |len| FRAME_OVERHEAD + len;
        let mut t = table(3 * cost(10));
        let now = Instant::now();
        for k in 0..4u8 {
            t.deliver(1, id(k), Bytes::from(vec![k; 10]), now);
        }
        assert_eq!(t.held_cost(1), 3 * cost(10));
        // Channel 0's frame was the oldest: dropped.
        let o0 = t.open(id(0), 100).unwrap();
        assert!(drain(source(&o0, 1)).is_empty());
        let o1 = t.open(id(1), 100).unwrap();
        assert_eq!(drain(source(&o1, 1)).len(), 1);
        // Too big for the whole budget: not held at all.
        t.deliver(2, id(9), Bytes::from(vec![0; 3 * cost(10)]), now);
        assert_eq!(t.held_cost(2), 0);
        // Expiry.
        t.expire(now + Duration::from_secs(9));
        assert_eq!(t.held_cost(1), 2 * cost(10));
        t.expire(now + Duration::from_secs(10));
        assert_eq!(t.held_cost(1), 0);
        let o3 = t.open(id(3), 100).unwrap();
        assert!(drain(source(&o3, 1)).is_empty());
    }

    #[test]
    fn failing_a_peer_fails_open_links_once_and_replaces_held_frames() {
        let mut t = table(1 << 20);
        let now = Instant::now();
        let o = t.open(id(1), 100).unwrap();
        t.deliver(1, id(2), b("early"), now);
        t.deliver(1, id(2), b("early2"), now);
        t.deliver(2, id(2), b("from two"), now);
        let err = NetError::Disconnected { peer: 1 };
        t.fail_peer(1, &err, now);
        assert!(o.links[1].as_ref().unwrap().1.load(Ordering::Acquire));
        assert!(!o.links[2].as_ref().unwrap().1.load(Ordering::Acquire));
        assert_eq!(drain(source(&o, 1)), vec![Err(err.clone())]);
        // A dead link delivers nothing more, not even a second error.
        t.deliver(1, id(1), b("after"), now);
        t.fail_peer(1, &err, now);
        assert!(drain(source(&o, 1)).is_empty());
        // Held frames from the failed connection became one error.
        assert_eq!(t.held_cost(1), FRAME_OVERHEAD);
        let o2 = t.open(id(2), 100).unwrap();
        assert_eq!(drain(source(&o2, 1)), vec![Err(err)]);
        assert_eq!(drain(source(&o2, 2)), vec![Ok(b("from two"))]);
    }

    #[test]
    fn a_frame_above_the_channel_limit_fails_that_link_only() {
        let mut t = table(1 << 20);
        let now = Instant::now();
        let o = t.open(id(1), 4).unwrap();
        t.deliver(1, id(1), b("12345"), now);
        t.deliver(2, id(1), b("1234"), now);
        assert!(matches!(
            drain(source(&o, 1)).as_slice(),
            [Err(NetError::FrameTooLarge {
                peer: 1,
                len: 5,
                max: 4
            })]
        ));
        assert_eq!(drain(source(&o, 2)), vec![Ok(b("1234"))]);
    }
}
