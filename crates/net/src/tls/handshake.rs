//! Establishing the authenticated connections: dialing lower ids, accepting higher ids.
//!
//! **Pattern:** for every pair of parties the higher id dials the lower id, so each pair has
//! exactly one connection and nobody has to guess who goes first. Dialers retry refused TCP
//! connections until the deadline (parties start in any order), but never retry a failed TLS
//! handshake: that is a configuration problem, not a race.
//!
//! **After TLS** the dialer sends a hello frame `HELLO_MAGIC ‖ from ‖ to ‖ n` (`u32` LE each), and
//! the acceptor answers with `ACK_MAGIC ‖ me` only if
//! - `from` is the party that owns the client certificate (the certificate decides, the hello
//!   only confirms),
//! - `to` is the acceptor and `n` matches its table, and
//! - it has not accepted that party yet (a duplicate is dropped, the first connection stays).
//!
//! A connection counts as established on the dialer only once the ack arrived, so a refusal is an
//! error on both sides.
//!
//! The [`crate::gateway`] uses the same steps with its own magic strings ([`GATEWAY`]; a plain
//! network uses [`NETWORK`]), its own acceptor loop (there a second connection from a party
//! *replaces* the first: the party restarted) and its own dial loop (one TCP attempt per try,
//! retried forever), built from [`dial_over`], [`admit_hello`] and [`send_ack`]. An acceptor keeps serving other dialers after refusing one: garbage,
//! unknown certificates and bad hellos are logged (without contents) and dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout_at, Instant};
use tokio_rustls::{client, TlsAcceptor, TlsConnector, TlsStream};

use super::certs::PinTable;
use super::frame::{read_frame, write_frame};
use super::verify::{client_config, server_config};
use super::Socket;
use crate::{NetError, PartyId};

/// The magic strings of one kind of connection. A plain [`crate::tls`] network and a
/// [`crate::gateway`] use different ones, so neither ever mistakes the other for a peer of its own
/// kind: the hello is refused as malformed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Magic {
    hello: [u8; 8],
    ack: [u8; 8],
}

/// Connections of a [`crate::tls`] network.
pub(crate) const NETWORK: Magic = Magic {
    hello: *b"EPHNET1H",
    ack: *b"EPHNET1A",
};

/// Connections of a [`crate::gateway`].
pub(crate) const GATEWAY: Magic = Magic {
    hello: *b"EPHGW01H",
    ack: *b"EPHGW01A",
};
/// Upper bound on a handshake frame; a peer announcing more is refused at once.
const HANDSHAKE_MAX: usize = 64;
/// Pause between refused TCP connection attempts: doubles from the first to the last value.
const RETRY_FIRST: Duration = Duration::from_millis(20);
const RETRY_MAX: Duration = Duration::from_millis(500);
/// Read buffer between the socket and rustls. rustls reads 4 KiB at a time; this buffer turns
/// those into a few large system calls, which matters for frames of many megabytes.
pub(crate) const SOCKET_READ_BUFFER: usize = 256 << 10;

/// Everything connection setup needs, validated once.
pub(crate) struct Plan {
    pub(crate) me: PartyId,
    pub(crate) addrs: Vec<String>,
    pub(crate) pins: PinTable,
    pub(crate) my_cert: CertificateDer<'static>,
    pub(crate) my_key: PrivateKeyDer<'static>,
    pub(crate) connect_timeout: Duration,
}

impl Plan {
    pub(crate) fn n(&self) -> usize {
        self.pins.len()
    }
}

fn hello(magic: Magic, from: PartyId, to: PartyId, n: usize) -> Vec<u8> {
    let mut h = magic.hello.to_vec();
    for v in [from, to, n] {
        h.extend_from_slice(&(v as u32).to_le_bytes());
    }
    h
}

/// Parse a hello into `(from, to, n)`.
fn parse_hello(magic: Magic, b: &[u8]) -> Option<(usize, usize, usize)> {
    let rest = b.strip_prefix(&magic.hello)?;
    if rest.len() != 12 {
        return None;
    }
    let word = |i: usize| u32::from_le_bytes(rest[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    Some((word(0), word(1), word(2)))
}

fn ack(magic: Magic, me: PartyId) -> Vec<u8> {
    let mut a = magic.ack.to_vec();
    a.extend_from_slice(&(me as u32).to_le_bytes());
    a
}

/// Open a TCP connection to `peer`, retrying refused attempts until `deadline`.
async fn connect_tcp(plan: &Plan, peer: PartyId, deadline: Instant) -> Result<TcpStream, NetError> {
    let addr = &plan.addrs[peer];
    let mut pause = RETRY_FIRST;
    let mut last = None;
    loop {
        match timeout_at(deadline, TcpStream::connect(addr.as_str())).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => last = Some(e.to_string()),
            // Keep the error of a finished attempt: it says more than the deadline does.
            Err(_) => {
                last.get_or_insert_with(|| "the connection attempt did not finish".to_string());
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(NetError::Io {
                peer,
                reason: format!(
                    "could not reach party {peer} at {addr} within {:?} (last error: {}); \
                     check that it is running and that its address is right",
                    plan.connect_timeout,
                    last.as_deref().unwrap_or("none")
                ),
            });
        }
        sleep_until((now + pause).min(deadline)).await;
        pause = (pause * 2).min(RETRY_MAX);
    }
}

/// Dial `peer`, authenticate it by its pinned certificate, and exchange hello and ack.
pub(crate) async fn dial(
    plan: &Plan,
    peer: PartyId,
    deadline: Instant,
) -> Result<client::TlsStream<Socket>, NetError> {
    if peer >= plan.n() {
        return Err(NetError::UnknownPeer { peer, n: plan.n() });
    }
    let tcp = connect_tcp(plan, peer, deadline).await?;
    dial_over(plan, peer, tcp, deadline, NETWORK).await
}

/// Run the dialer's side of the handshake with `peer` over an open TCP connection: TLS with the
/// pinned certificate, then hello and ack with `magic`.
pub(crate) async fn dial_over(
    plan: &Plan,
    peer: PartyId,
    tcp: TcpStream,
    deadline: Instant,
    magic: Magic,
) -> Result<client::TlsStream<Socket>, NetError> {
    let (me, n) = (plan.me, plan.n());
    let addr = &plan.addrs[peer];
    let expected = plan
        .pins
        .cert(peer)
        .ok_or(NetError::UnknownPeer { peer, n })?
        .clone();
    let config = client_config(
        peer,
        expected,
        plan.my_cert.clone(),
        plan.my_key.clone_key(),
    )?;
    let name = ServerName::try_from(format!("party-{peer}"))
        .map_err(|e| NetError::Config(format!("cannot name party {peer} for TLS: {e}")))?;

    tcp.set_nodelay(true).map_err(|e| NetError::Io {
        peer,
        reason: format!("cannot set TCP_NODELAY: {e}"),
    })?;
    let tcp = BufReader::with_capacity(SOCKET_READ_BUFFER, tcp);
    let mut tls = match timeout_at(deadline, TlsConnector::from(config).connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            return Err(NetError::Tls(format!(
                "TLS handshake with party {peer} at {addr} failed: {e}; check that the process \
                 there is party {peer} and that both sides use the same certificate table"
            )))
        }
        Err(_) => {
            return Err(NetError::Tls(format!(
                "TLS handshake with party {peer} at {addr} did not finish within {:?}; check that \
                 the process there is an Ephemeral party",
                plan.connect_timeout
            )))
        }
    };

    let refused = |why: String| {
        NetError::Tls(format!(
            "party {peer} at {addr} refused this party (party {me}) after the TLS handshake: \
             {why}; check that its certificate table lists this party's certificate and that it \
             is not already connected to another party {me}"
        ))
    };
    let exchange = async {
        write_frame(&mut tls, &hello(magic, me, peer, n)).await?;
        tls.flush().await?;
        Ok::<_, std::io::Error>(())
    };
    match timeout_at(deadline, exchange).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(refused(e.to_string())),
        Err(_) => return Err(refused("sending the hello timed out".into())),
    }
    match timeout_at(deadline, read_frame(&mut tls, peer, HANDSHAKE_MAX)).await {
        Ok(Ok(Some(a))) if a.as_ref() == ack(magic, peer).as_slice() => Ok(tls),
        Ok(Ok(Some(_))) => Err(refused("its acknowledgement was malformed".into())),
        Ok(Ok(None)) => Err(refused("it closed the connection".into())),
        Ok(Err(e)) => Err(refused(e.to_string())),
        Err(_) => Err(refused(
            "no acknowledgement before the connect timeout".into(),
        )),
    }
}

/// Accept one connection from every party with a higher id, until `deadline`.
pub(crate) async fn accept_all(
    plan: Arc<Plan>,
    listener: TcpListener,
    deadline: Instant,
) -> Result<Vec<(PartyId, TlsStream<Socket>)>, NetError> {
    let (me, n) = (plan.me, plan.n());
    let expected: Vec<PartyId> = (me + 1..n).collect();
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let acceptor = acceptor(&plan)?;
    let claimed = Arc::new(Mutex::new(vec![false; n]));
    let mut pending = JoinSet::new();
    let mut done = Vec::with_capacity(expected.len());
    loop {
        tokio::select! {
            incoming = listener.accept() => match incoming {
                Ok((tcp, remote)) => {
                    let (plan, acceptor, claimed) = (plan.clone(), acceptor.clone(), claimed.clone());
                    pending.spawn(async move {
                        let admitted = timeout_at(deadline, admit(&plan, tcp, &acceptor, &claimed));
                        (remote, admitted.await)
                    });
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(RETRY_FIRST).await;
                }
            },
            Some(joined) = pending.join_next(), if !pending.is_empty() => match joined {
                Ok((_, Ok(Ok((peer, tls))))) => {
                    tracing::debug!(me, peer, "accepted party");
                    done.push((peer, TlsStream::Server(tls)));
                    if done.len() == expected.len() {
                        return Ok(done);
                    }
                }
                Ok((remote, Ok(Err(e)))) => {
                    tracing::warn!(me, %remote, error = %e, "refused an incoming connection");
                }
                Ok((remote, Err(_))) => {
                    tracing::warn!(me, %remote, "incoming connection did not finish its handshake in time");
                }
                Err(e) => tracing::warn!(me, error = %e, "connection handshake task failed"),
            },
            _ = sleep_until(deadline) => {
                let missing: Vec<PartyId> = expected
                    .iter()
                    .copied()
                    .filter(|p| done.iter().all(|(q, _)| q != p))
                    .collect();
                let list = missing.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
                return Err(NetError::Io {
                    peer: missing[0],
                    reason: format!(
                        "party {list} did not connect within {:?}; check that it is running and \
                         dials this party at {} with the same certificate table",
                        plan.connect_timeout, plan.addrs[me]
                    ),
                });
            }
        }
    }
}

/// The TLS acceptor of `plan.me`: it admits exactly the parties with a higher id (the ones that
/// dial this party), each by its pinned certificate.
pub(crate) fn acceptor(plan: &Plan) -> Result<TlsAcceptor, NetError> {
    let allowed = (plan.me + 1..plan.n())
        .filter_map(|p| plan.pins.cert(p).cloned())
        .collect();
    Ok(TlsAcceptor::from(server_config(
        allowed,
        plan.my_cert.clone(),
        plan.my_key.clone_key(),
    )?))
}

/// TLS-accept one connection, identify the party by its certificate and check its hello.
async fn admit(
    plan: &Plan,
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    claimed: &Mutex<Vec<bool>>,
) -> Result<(PartyId, tokio_rustls::server::TlsStream<Socket>), NetError> {
    let (peer, mut tls) = admit_hello(plan, tcp, acceptor, NETWORK).await?;
    {
        let mut claimed = claimed.lock().unwrap_or_else(|p| p.into_inner());
        if claimed[peer] {
            return Err(NetError::Malformed {
                peer,
                reason: "a second connection from this party; keeping the first".into(),
            });
        }
        claimed[peer] = true;
    }
    if let Err(e) = send_ack(plan, peer, &mut tls, NETWORK).await {
        claimed.lock().unwrap_or_else(|p| p.into_inner())[peer] = false;
        return Err(e);
    }
    Ok((peer, tls))
}

/// The acceptor's side of the handshake up to (not including) the ack: TLS-accept, identify the
/// party by its certificate, and check its hello (with `magic`).
pub(crate) async fn admit_hello(
    plan: &Plan,
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    magic: Magic,
) -> Result<(PartyId, tokio_rustls::server::TlsStream<Socket>), NetError> {
    let (me, n) = (plan.me, plan.n());
    tcp.set_nodelay(true).map_err(|e| {
        NetError::Tls(format!(
            "cannot set TCP_NODELAY on an incoming connection: {e}"
        ))
    })?;
    let mut tls = acceptor
        .accept(BufReader::with_capacity(SOCKET_READ_BUFFER, tcp))
        .await
        .map_err(|e| NetError::Tls(format!("TLS handshake failed: {e}")))?;
    let cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
    let peer = match cert.and_then(|c| plan.pins.party_of(c.as_ref())) {
        Some(p) if p > me => p,
        // Unreachable while the verifier pins exactly the higher parties; checked regardless.
        _ => {
            return Err(NetError::Tls(
                "the client certificate is not a dialing party's".into(),
            ))
        }
    };
    let bad = |reason: String| NetError::Malformed { peer, reason };
    let frame = read_frame(&mut tls, peer, HANDSHAKE_MAX)
        .await?
        .ok_or_else(|| bad("closed the connection before its hello".into()))?;
    match parse_hello(magic, &frame) {
        Some((from, to, m)) if from == peer && to == me && m == n => Ok((peer, tls)),
        Some((from, to, m)) => Err(bad(format!(
            "hello claims to be from party {from} to party {to} of {m}, but the certificate \
             is party {peer}'s and this is party {me} of {n}"
        ))),
        None => Err(bad("the hello frame is malformed".into())),
    }
}

/// Acknowledge `peer`'s hello: from now on the dialer counts the connection as established.
pub(crate) async fn send_ack(
    plan: &Plan,
    peer: PartyId,
    tls: &mut tokio_rustls::server::TlsStream<Socket>,
    magic: Magic,
) -> Result<(), NetError> {
    let sent = async {
        write_frame(tls, &ack(magic, plan.me)).await?;
        tls.flush().await
    };
    sent.await.map_err(|e| NetError::Io {
        peer,
        reason: format!("cannot acknowledge the hello: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_rejects_garbage() {
        let h = |from, to, n| hello(NETWORK, from, to, n);
        assert_eq!(parse_hello(NETWORK, &h(3, 1, 5)), Some((3, 1, 5)));
        assert_eq!(parse_hello(NETWORK, b""), None);
        assert_eq!(parse_hello(NETWORK, &ack(NETWORK, 1)), None);
        let mut long = h(3, 1, 5);
        long.push(0);
        assert_eq!(parse_hello(NETWORK, &long), None);
        assert!(h(3, 1, 5).len() <= HANDSHAKE_MAX);
        // The two kinds of connection never accept each other's hello.
        assert_eq!(parse_hello(GATEWAY, &h(3, 1, 5)), None);
        assert_eq!(
            parse_hello(GATEWAY, &hello(GATEWAY, 3, 1, 5)),
            Some((3, 1, 5))
        );
        assert_ne!(ack(GATEWAY, 1), ack(NETWORK, 1));
    }

    fn plans(n: usize) -> Vec<Plan> {
        let ids: Vec<_> = (0..n)
            .map(|i| super::super::dev_identity(i).unwrap())
            .collect();
        let table: Vec<_> = ids
            .iter()
            .map(|id| super::super::PartyEndpoint {
                addr: "127.0.0.1:1".into(),
                cert_pem: id.cert_pem.clone(),
            })
            .collect();
        ids.into_iter()
            .enumerate()
            .map(|(me, id)| {
                super::super::TlsNetConfig::new(me, table.clone(), id)
                    .plan()
                    .unwrap()
            })
            .collect()
    }

    /// TLS-connect to `addr` as `plan.me`, send `wire`, close the sending side, and report
    /// whether an ack came back.
    async fn try_hello(plan: &Plan, to: PartyId, addr: &str, wire: &[u8]) -> bool {
        let config = client_config(
            to,
            plan.pins.cert(to).unwrap().clone(),
            plan.my_cert.clone(),
            plan.my_key.clone_key(),
        )
        .unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("party-0").unwrap();
        let mut tls = TlsConnector::from(config).connect(name, tcp).await.unwrap();
        tls.write_all(wire).await.unwrap();
        // Half-close: a truncated hello must end rather than stall until the deadline.
        tls.shutdown().await.unwrap();
        matches!(read_frame(&mut tls, to, HANDSHAKE_MAX).await, Ok(Some(a)) if a.as_ref() == ack(NETWORK, to).as_slice())
    }

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    /// Every malformed or lying hello is refused without an ack; the acceptor keeps going and
    /// admits the honest hello afterwards.
    #[test]
    fn acceptor_refuses_bad_hellos_and_then_admits_the_real_party() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut plans = plans(3).into_iter();
            let (p0, p1, p2) = (
                plans.next().unwrap(),
                plans.next().unwrap(),
                plans.next().unwrap(),
            );
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let deadline = Instant::now() + Duration::from_secs(10);
            let acceptor = tokio::spawn(accept_all(Arc::new(p0), listener, deadline));

            let bad: Vec<Vec<u8>> = vec![
                framed(&hello(NETWORK, 2, 0, 3)), // claims party 2, certificate is party 1's
                framed(&hello(NETWORK, 1, 2, 3)), // addressed to another party
                framed(&hello(NETWORK, 1, 0, 4)), // different party count
                framed(b"EPHNET1H-garbage"),      // malformed
                (1000u32).to_le_bytes().to_vec(), // above the handshake frame limit
                vec![1, 0],                       // truncated, then closed
            ];
            for wire in &bad {
                assert!(!try_hello(&p1, 0, &addr, wire).await);
            }
            assert!(try_hello(&p1, 0, &addr, &framed(&hello(NETWORK, 1, 0, 3))).await);
            // A second honest-looking connection from party 1 is a duplicate.
            assert!(!try_hello(&p1, 0, &addr, &framed(&hello(NETWORK, 1, 0, 3))).await);
            assert!(try_hello(&p2, 0, &addr, &framed(&hello(NETWORK, 2, 0, 3))).await);
            let done = acceptor.await.unwrap().unwrap();
            let mut peers: Vec<_> = done.iter().map(|(p, _)| *p).collect();
            peers.sort();
            assert_eq!(peers, vec![1, 2]);
        });
    }
}
