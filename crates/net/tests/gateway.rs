//! The gateway end to end, on 127.0.0.1 with ports chosen by the OS (port 0) and development
//! certificates.
//!
//! Gateways run on a small tokio runtime per test; channels are used from plain threads, as the
//! engine does. Every test runs under [`bounded`], so a hang fails the test instead of stalling
//! the suite.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use net::gateway::{self, ChannelId, Gateway, GatewayConfig};
use net::tls::{dev_identity, PartyEndpoint, TlsNetConfig};
use net::{Bytes, NetConfig, NetError, Network, PartyId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

const CONNECTED: Duration = Duration::from_secs(10);

/// Run `f` on its own thread and fail if it takes longer than `limit`.
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            h.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test thread ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn net_config(recv_deadline: Duration) -> NetConfig {
    NetConfig {
        recv_deadline,
        ..NetConfig::default()
    }
}

/// `n` parties' configurations with development certificates, each with its port-0 listener.
fn configs(n: usize, net: NetConfig) -> Vec<(GatewayConfig, TcpListener)> {
    let ids: Vec<_> = (0..n).map(|i| dev_identity(i).unwrap()).collect();
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let table: Vec<PartyEndpoint> = ids
        .iter()
        .zip(&listeners)
        .map(|(id, l)| PartyEndpoint {
            addr: l.local_addr().unwrap().to_string(),
            cert_pem: id.cert_pem.clone(),
        })
        .collect();
    ids.into_iter()
        .zip(listeners)
        .enumerate()
        .map(|(me, (identity, l))| {
            let mut cfg = GatewayConfig::new(me, table.clone(), identity);
            cfg.net = net.clone();
            cfg.connect_timeout = Duration::from_secs(5);
            (cfg, l)
        })
        .collect()
}

fn start(rt: &Runtime, cfg: GatewayConfig, listener: TcpListener) -> Gateway {
    rt.block_on(Gateway::start(cfg, Some(listener))).unwrap()
}

/// `n` started gateways, all connected, and their configurations.
fn cluster(rt: &Runtime, n: usize, net: NetConfig) -> (Vec<Gateway>, Vec<GatewayConfig>) {
    let mut gws = Vec::new();
    let mut cfgs = Vec::new();
    for (cfg, l) in configs(n, net) {
        cfgs.push(cfg.clone());
        gws.push(start(rt, cfg, l));
    }
    for g in &gws {
        rt.block_on(g.wait_connected(CONNECTED)).unwrap();
    }
    (gws, cfgs)
}

fn open_all(gws: &[Gateway], id: ChannelId) -> Vec<Network> {
    gws.iter().map(|g| g.open(id).unwrap()).collect()
}

/// One `broadcast_exchange` on every network, each on its own thread; checks that everybody got
/// everybody's `payload(party)`.
fn broadcast_round(nets: Vec<Network>, payload: fn(PartyId) -> Bytes) -> Vec<Network> {
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            thread::spawn(move || {
                let got = net.broadcast_exchange(payload(net.my_id())).unwrap();
                (net, got)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            let (net, got) = h.join().unwrap();
            for (p, f) in got.iter().enumerate() {
                assert_eq!(
                    f,
                    &payload(p),
                    "party {} got a wrong frame from {p}",
                    net.my_id()
                );
            }
            net
        })
        .collect()
}

fn small(p: PartyId) -> Bytes {
    Bytes::from(format!("hello from party {p}"))
}

/// What `g` knows of its connection to `party`.
fn status(g: &Gateway, party: PartyId) -> gateway::PeerStatus {
    g.peer_status()
        .into_iter()
        .find(|s| s.party == party)
        .unwrap()
}

/// Poll `f` until it holds or `limit` passes.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "not within {limit:?}: {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_and_three_parties_exchange_on_a_channel() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        for n in [2, 3] {
            let (gws, _) = cluster(&rt, n, net_config(Duration::from_secs(5)));
            let nets = open_all(&gws, ChannelId::derive("test", "one"));
            let nets = broadcast_round(nets, small);
            for net in &nets {
                let s = net.stats();
                assert_eq!((s.rounds, s.frames_sent), (1, n as u64 - 1));
            }
            drop(nets);
            let status = gws[0].peer_status();
            assert_eq!(status.len(), n - 1);
            for (s, p) in status.iter().zip(1..) {
                assert_eq!(s.party, p);
                assert!(s.connected && s.connections == 1, "{s:?}");
                assert!(s.bytes_sent > 0 && s.bytes_received > 0, "{s:?}");
            }
            assert_eq!((gws[1].me(), gws[1].n_parties()), (1, n));
            for g in &gws {
                g.shutdown();
            }
        }
    });
}

#[test]
fn fifty_channels_run_concurrently_without_cross_talk() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let n = 3;
        let (gws, _) = cluster(&rt, n, net_config(Duration::from_secs(10)));
        let mut handles = Vec::new();
        for c in 0..50usize {
            let id = ChannelId::derive("game", &format!("g{c}"));
            for g in &gws {
                let mut net = g.open(id).unwrap();
                handles.push(thread::spawn(move || {
                    let me = net.my_id();
                    // Distinct per channel, party and round, and of varying length.
                    let frame = |p: PartyId, r: usize| {
                        Bytes::from(format!("{c}/{p}/{r}/{}", "x".repeat((c * 37 + p) % 300)))
                    };
                    for r in 0..5 {
                        let got = net.broadcast_exchange(frame(me, r)).unwrap();
                        for (p, f) in got.iter().enumerate() {
                            assert_eq!(f, &frame(p, r), "channel {c} party {me} round {r}");
                        }
                        // And one exchange of distinct frames per pair.
                        let out = (0..n)
                            .map(|to| Bytes::from(format!("{c}:{me}->{to}:{r}")))
                            .collect();
                        let got = net.exchange(out).unwrap();
                        for (p, f) in got.iter().enumerate() {
                            if p != me {
                                assert_eq!(f, &Bytes::from(format!("{c}:{p}->{me}:{r}")));
                            }
                        }
                    }
                    assert_eq!(net.stats().rounds, 10);
                }));
            }
        }
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn frames_sent_before_the_receiver_opens_are_delivered() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        let id = ChannelId::derive("test", "early");
        let mut a = gws[0].open(id).unwrap();
        a.send(1, Bytes::from_static(b"early 1")).unwrap();
        a.send(1, Bytes::from_static(b"early 2")).unwrap();
        thread::sleep(Duration::from_millis(200));
        let mut b = gws[1].open(id).unwrap();
        assert_eq!(b.recv(0).unwrap(), Bytes::from_static(b"early 1"));
        assert_eq!(b.recv(0).unwrap(), Bytes::from_static(b"early 2"));
        b.send(0, Bytes::from_static(b"reply")).unwrap();
        assert_eq!(a.recv(1).unwrap(), Bytes::from_static(b"reply"));
    });
}

#[test]
fn subscribers_hear_of_conversations_a_peer_starts_and_nothing_else() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        let mut heard = gws[1].subscribe(b"JOB1");
        let quiet = ChannelId::derive("test", "not a job");
        let mut q = gws[0].open(quiet).unwrap();
        q.send(1, Bytes::from_static(b"hello")).unwrap();
        let id = ChannelId::derive("test", "job");
        let mut a = gws[0].open(id).unwrap();
        a.send(1, Bytes::from_static(b"JOB1 start")).unwrap();
        a.send(1, Bytes::from_static(b"more")).unwrap();
        let (peer, got) = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), heard.recv()).await })
            .expect("announced in time")
            .expect("subscriber open");
        assert_eq!((peer, got), (0, id));
        // Only the first frame of the job channel was announced; the other channel was not.
        assert!(heard.try_recv().is_err());
        let mut b = gws[1].open(got).unwrap();
        assert_eq!(b.recv(0).unwrap(), Bytes::from_static(b"JOB1 start"));
        assert_eq!(b.recv(0).unwrap(), Bytes::from_static(b"more"));
    });
}

#[test]
fn a_late_subscriber_hears_of_conversations_started_before_it_subscribed() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 3, net_config(Duration::from_secs(5)));
        // Party 0 starts a job before party 1 subscribes (a node still starting up), and party 2
        // starts a conversation of another kind.
        let id = ChannelId::derive("test", "early job");
        let mut a = gws[0].open(id).unwrap();
        a.send(1, Bytes::from_static(b"JOB1 start")).unwrap();
        a.send(
            1,
            Bytes::from_static(b"JOB1 looks like a start but is not the first"),
        )
        .unwrap();
        let other = ChannelId::derive("test", "other");
        let mut o = gws[2].open(other).unwrap();
        o.send(1, Bytes::from_static(b"hello")).unwrap();
        thread::sleep(Duration::from_millis(200));
        let mut heard = gws[1].subscribe(b"JOB1");
        let (peer, got) = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), heard.recv()).await })
            .expect("announced in time")
            .expect("subscriber open");
        assert_eq!((peer, got), (0, id));
        // Once per conversation, and nothing for the other kind.
        thread::sleep(Duration::from_millis(50));
        assert!(heard.try_recv().is_err());
        let mut b = gws[1].open(got).unwrap();
        assert_eq!(b.recv(0).unwrap(), Bytes::from_static(b"JOB1 start"));
        // Conversations after the subscription are announced as before.
        let later = ChannelId::derive("test", "later job");
        let mut l = gws[0].open(later).unwrap();
        l.send(1, Bytes::from_static(b"JOB1 again")).unwrap();
        let (peer, got) = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), heard.recv()).await })
            .expect("announced in time")
            .expect("subscriber open");
        assert_eq!((peer, got), (0, later));
    });
}

/// Start a gateway on the address of the table (a restarted node), retrying while the old
/// gateway's listener is still being closed.
fn restart(rt: &Runtime, cfg: GatewayConfig) -> Gateway {
    let t0 = Instant::now();
    loop {
        match rt.block_on(Gateway::start(cfg.clone(), None)) {
            Ok(g) => return g,
            Err(e) if t0.elapsed() < Duration::from_secs(3) => {
                let _ = e;
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot restart party {}: {e}", cfg.me),
        }
    }
}

#[test]
fn a_killed_peer_fails_open_channels_fast_and_a_restarted_peer_works() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (mut gws, cfgs) = cluster(&rt, 3, net_config(Duration::from_secs(30)));
        let nets = open_all(&gws, ChannelId::derive("game", "before"));
        let mut nets = broadcast_round(nets, small);
        // Parties 0 and 2 wait for party 1, which is killed meanwhile.
        let net2 = nets.pop().unwrap();
        let _net1 = nets.pop().unwrap();
        let net0 = nets.pop().unwrap();
        let waiting: Vec<_> = [net0, net2]
            .into_iter()
            .map(|mut net| {
                thread::spawn(move || {
                    let err = net.recv(1).unwrap_err();
                    (Instant::now(), err)
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(100));
        let killed = Instant::now();
        gws[1].shutdown();
        for h in waiting {
            let (at, err) = h.join().unwrap();
            assert_eq!(err, NetError::Disconnected { peer: 1 });
            let after = at.duration_since(killed);
            assert!(after < Duration::from_secs(2), "noticed after {after:?}");
        }
        for g in [&gws[0], &gws[2]] {
            eventually(
                Duration::from_secs(2),
                "party 1 shown as disconnected",
                || !status(g, 1).connected,
            );
        }
        assert!(gws[1].open(ChannelId::derive("game", "x")).is_err());

        // The node comes back on the same address; a new channel works.
        gws[1] = restart(&rt, cfgs[1].clone());
        for g in &gws {
            rt.block_on(g.wait_connected(CONNECTED)).unwrap();
        }
        let nets = open_all(&gws, ChannelId::derive("game", "after"));
        broadcast_round(nets, small);
        let s = status(&gws[0], 1);
        assert_eq!(s.connections, 2, "{s:?}");
        let s = status(&gws[2], 1);
        assert_eq!(s.connections, 2, "{s:?}");
    });
}

/// A party waiting for one peer learns at once that another peer's connection died (every peer
/// is needed to finish), naming that peer, instead of waiting out the deadline; frames that came
/// from a live peer meanwhile are kept for its next receive. A peer that merely drops its channel
/// (it finished its part) does not end anybody's wait.
#[test]
fn a_wait_on_one_peer_ends_when_another_peers_connection_dies() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _cfgs) = cluster(&rt, 3, net_config(Duration::from_secs(30)));
        // While party 0 waits for party 1, party 2's frame arrives: it is kept for recv(2).
        let mut nets = open_all(&gws, ChannelId::derive("game", "held"));
        let mut h2 = nets.pop().unwrap();
        let mut h1 = nets.pop().unwrap();
        let mut h0 = nets.pop().unwrap();
        let waiting = thread::spawn(move || (h0.recv(1), h0));
        h2.send(0, Bytes::from_static(b"early")).unwrap();
        thread::sleep(Duration::from_millis(200));
        h1.send(0, Bytes::from_static(b"late")).unwrap();
        let (got, mut h0) = waiting.join().unwrap();
        assert_eq!(got.unwrap(), Bytes::from_static(b"late"));
        assert_eq!(h0.recv(2).unwrap(), Bytes::from_static(b"early"));

        let mut nets = open_all(&gws, ChannelId::derive("game", "wait"));
        let _net2 = nets.pop().unwrap();
        let mut net1 = nets.pop().unwrap();
        let mut net0 = nets.pop().unwrap();
        // Party 1 drops its channel early; party 0 is not disturbed by it.
        net1.send(0, Bytes::from_static(b"from 1")).unwrap();
        drop(net1);
        thread::sleep(Duration::from_millis(100));
        // Party 0 waits for party 1's second frame (never sent): still waiting after 300 ms.
        assert_eq!(net0.recv(1).unwrap(), Bytes::from_static(b"from 1"));
        let waiting = thread::spawn(move || {
            let err = net0.recv(1).unwrap_err();
            (Instant::now(), err, net0)
        });
        thread::sleep(Duration::from_millis(300));
        assert!(!waiting.is_finished(), "a dropped channel ended the wait");
        let killed = Instant::now();
        gws[2].shutdown();
        let (at, err, net0) = waiting.join().unwrap();
        assert_eq!(err, NetError::Disconnected { peer: 2 });
        assert!(at.duration_since(killed) < Duration::from_secs(2));
        // The network is failed from then on, as after any lost link.
        let mut net0 = net0;
        assert!(net0.recv(2).is_err());
    });
}

#[test]
fn parties_start_in_any_order() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let mut cfgs = configs(3, net_config(Duration::from_secs(10)));
        let (cfg0, l0) = cfgs.remove(0);
        let id = ChannelId::derive("test", "order");
        // Parties 2 and 1 start, open the channel and send at once; party 0 is not there yet.
        let mut early = Vec::new();
        for (cfg, l) in cfgs.into_iter().rev() {
            let g = start(&rt, cfg, l);
            let mut net = g.open(id).unwrap();
            early.push((
                g,
                thread::spawn(move || {
                    let got = net.broadcast_exchange(small(net.my_id())).unwrap();
                    assert_eq!(got, (0..3).map(small).collect::<Vec<_>>());
                }),
            ));
        }
        thread::sleep(Duration::from_millis(500));
        let g0 = start(&rt, cfg0, l0);
        let mut net = g0.open(id).unwrap();
        let got = net.broadcast_exchange(small(0)).unwrap();
        assert_eq!(got, (0..3).map(small).collect::<Vec<_>>());
        let mut gws = vec![g0];
        for (g, h) in early {
            h.join().unwrap();
            gws.push(g);
        }
        // Dropping the last handle of a gateway shuts it down, so all are still up here.
        for g in &gws {
            rt.block_on(g.wait_connected(CONNECTED)).unwrap();
        }
    });
}

#[test]
fn frames_for_an_absent_peer_wait_at_most_the_receive_deadline() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let mut cfgs = configs(2, net_config(Duration::from_secs(5)));
        let (cfg1, l1) = cfgs.pop().unwrap();
        let (cfg0, l0) = cfgs.pop().unwrap();
        let id = ChannelId::derive("test", "outbox");
        let g1 = start(&rt, cfg1, l1);
        let mut a = g1.open(id).unwrap();
        // Held for party 0 (not started) for the deadline in force when sent.
        a.set_recv_deadline(Duration::from_millis(100));
        a.send(0, Bytes::from_static(b"stale")).unwrap();
        a.set_recv_deadline(Duration::from_secs(5));
        a.send(0, Bytes::from_static(b"kept")).unwrap();
        thread::sleep(Duration::from_millis(300));
        let g0 = start(&rt, cfg0, l0);
        let mut b = g0.open(id).unwrap();
        assert_eq!(b.recv(1).unwrap(), Bytes::from_static(b"kept"));
        b.send(1, Bytes::from_static(b"back")).unwrap();
        assert_eq!(a.recv(0).unwrap(), Bytes::from_static(b"back"));
        let _ = (g0, g1);
    });
}

#[test]
fn gateways_and_channels_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Gateway>();
    send::<Network>();
}

#[test]
fn an_unknown_certificate_is_refused_and_real_peers_keep_working() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, cfgs) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        // Claims to be party 1 with a certificate that is not in party 0's table.
        let mut fake = cfgs[1].clone();
        fake.identity = dev_identity(5).unwrap();
        fake.parties[1].cert_pem = fake.identity.cert_pem.clone();
        let err = rt.block_on(gateway::dial_raw(&fake, 0)).unwrap_err();
        assert!(matches!(err, NetError::Tls(_)), "{err}");
        // The real party 1's certificate over a plain `tls` handshake: wrong kind of peer.
        let mut plain = TlsNetConfig::new(1, cfgs[1].parties.clone(), cfgs[1].identity.clone());
        plain.connect_timeout = Duration::from_secs(5);
        let err = rt.block_on(net::tls::dial_raw(&plain, 0)).unwrap_err();
        assert!(matches!(err, NetError::Tls(_)), "{err}");
        // Nothing replaced the real connection, and it still carries channels.
        let s = status(&gws[0], 1);
        assert!(s.connected && s.connections == 1, "{s:?}");
        let nets = open_all(&gws, ChannelId::derive("test", "still"));
        broadcast_round(nets, small);
    });
}

#[test]
fn opening_an_open_channel_fails_and_reopening_after_drop_works() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        let id = ChannelId::derive("test", "reopen");
        let nets = open_all(&gws, id);
        match gws[0].open(id) {
            Err(NetError::Config(m)) => assert!(m.contains(&id.to_string()), "{m}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
        let nets = broadcast_round(nets, small);
        drop(nets);
        let nets = open_all(&gws, id);
        broadcast_round(nets, small);
    });
}

#[test]
fn a_malformed_frame_ends_the_connection_and_the_gateway_recovers() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (mut gws, cfgs) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        // Party 1 goes away; a raw client with its identity takes its place.
        gws[1].shutdown();
        eventually(Duration::from_secs(2), "party 1 disconnected", || {
            !status(&gws[0], 1).connected
        });
        let id = ChannelId::derive("test", "victim");
        let mut victim = gws[0].open(id).unwrap();
        rt.block_on(async {
            let mut raw = gateway::dial_raw(&cfgs[1], 0).await.unwrap();
            let mut good = (16u32 + 2).to_le_bytes().to_vec();
            good.extend_from_slice(&id.0);
            good.extend_from_slice(b"hi");
            raw.write_all(&good).await.unwrap();
            // Three bytes: shorter than a channel id.
            raw.write_all(&[3, 0, 0, 0, 1, 2, 3]).await.unwrap();
            raw.flush().await.unwrap();
            // Party 0 closes the connection.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut rest)).await;
        });
        assert_eq!(victim.recv(1).unwrap(), Bytes::from_static(b"hi"));
        let err = victim.recv(1).unwrap_err();
        assert!(matches!(err, NetError::Malformed { peer: 1, .. }), "{err}");
        let s = status(&gws[0], 1);
        assert!(!s.connected, "{s:?}");
        assert!(
            matches!(&s.last_error, Some(NetError::Malformed { peer: 1, reason }) if reason.contains("shorter")),
            "{s:?}"
        );
        // The real party 1 comes back and works.
        gws[1] = start(
            &rt,
            cfgs[1].clone(),
            TcpListener::bind("127.0.0.1:0").unwrap(),
        );
        for g in &gws {
            rt.block_on(g.wait_connected(CONNECTED)).unwrap();
        }
        let nets = open_all(&gws, ChannelId::derive("test", "after"));
        broadcast_round(nets, small);
    });
}

#[test]
fn sixteen_mib_frames_go_through() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 2, net_config(Duration::from_secs(10)));
        let nets = open_all(&gws, ChannelId::derive("test", "big"));
        fn big(p: PartyId) -> Bytes {
            Bytes::from(
                (0..16u32 << 20)
                    .map(|i| (i.wrapping_mul(31) as u8) ^ p as u8)
                    .collect::<Vec<u8>>(),
            )
        }
        broadcast_round(nets, big);
        assert!(status(&gws[0], 1).bytes_received > 16 << 20);
    });
}

#[test]
fn wait_connected_names_the_missing_parties_and_shutdown_fails_channels() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let mut cfgs = configs(3, net_config(Duration::from_secs(30)));
        let (cfg, l) = cfgs.remove(0);
        let g = start(&rt, cfg, l);
        let err = rt
            .block_on(g.wait_connected(Duration::from_millis(200)))
            .unwrap_err();
        assert!(
            err.to_string().contains("party 1, 2 not connected"),
            "{err}"
        );
        // A channel waiting for absent parties fails at once on shutdown.
        let mut net = g.open(ChannelId::derive("test", "orphan")).unwrap();
        let h = thread::spawn(move || net.recv(2));
        thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        g.shutdown();
        assert_eq!(h.join().unwrap(), Err(NetError::Disconnected { peer: 2 }));
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert!(matches!(
            g.open(ChannelId::derive("test", "late")),
            Err(NetError::Config(m)) if m.contains("shut down")
        ));
    });
}

/// Whether the server has closed a silent client connection: EOF or reset within `wait`.
fn closed_within(s: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => panic!("the gateway sent bytes to a silent client"),
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn silent_connections_beyond_the_handshake_cap_are_closed_at_once_and_a_real_peer_gets_in() {
    bounded(Duration::from_secs(40), || {
        let rt = runtime();
        let mut cfgs = configs(2, net_config(Duration::from_secs(5)));
        let (mut cfg1, l1) = cfgs.pop().unwrap();
        let (mut cfg0, l0) = cfgs.pop().unwrap();
        cfg0.max_handshakes = 4;
        cfg0.connect_timeout = Duration::from_secs(4);
        cfg1.connect_timeout = Duration::from_secs(4);
        let addr = l0.local_addr().unwrap();
        let g0 = start(&rt, cfg0.clone(), l0);

        // Twelve silent TCP connections (they never start TLS): four take the slots and are
        // held until the connect timeout, the other eight are closed at once.
        let began = Instant::now();
        let mut silent: Vec<std::net::TcpStream> = (0..12)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut closed = 0;
        let mut open = Vec::new();
        for s in silent.iter_mut() {
            if closed_within(s, Duration::from_millis(300)) {
                closed += 1;
            } else {
                open.push(s);
            }
        }
        assert!(
            began.elapsed() < Duration::from_secs(4),
            "the checks must end before any held handshake times out"
        );
        assert_eq!(
            closed, 8,
            "connections beyond the cap of 4 must be closed at once"
        );
        assert_eq!(open.len(), 4);

        // The real party 1 dials while the slots are taken: it is refused, retries, and gets in
        // once the silent handshakes time out — a flood delays a peer by at most the timeout.
        let g1 = start(&rt, cfg1, l1);
        rt.block_on(g1.wait_connected(Duration::from_secs(15)))
            .unwrap();
        rt.block_on(g0.wait_connected(Duration::from_secs(5)))
            .unwrap();
        for s in open {
            assert!(
                closed_within(s, Duration::from_secs(1)),
                "held past its timeout"
            );
        }
        let gws = [g0, g1];
        let nets = open_all(&gws, ChannelId::derive("test", "after-flood"));
        broadcast_round(nets, small);

        // A zero cap is a configuration error.
        cfg0.max_handshakes = 0;
        let err = rt
            .block_on(Gateway::start(
                cfg0,
                Some(TcpListener::bind("127.0.0.1:0").unwrap()),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("max_handshakes"), "{err}");
    });
}

#[test]
fn a_channel_network_carries_its_channel_id_and_others_carry_none() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _) = cluster(&rt, 2, net_config(Duration::from_secs(5)));
        let id = ChannelId::derive("test", "named");
        let nets = open_all(&gws, id);
        for n in &nets {
            assert_eq!(n.channel_id(), Some(id.0));
        }
        let other = gws[0].open(ChannelId::derive("test", "other")).unwrap();
        assert_ne!(other.channel_id(), Some(id.0));
        assert_eq!(
            net::in_process(2, NetConfig::default())[0].channel_id(),
            None
        );
    });
}

/// An async receive waits without a thread: it gets its frame, keeps frames from other peers
/// for later, ends at once (naming the peer) when another peer's connection dies, and times out
/// at its deadline.
#[test]
fn an_async_receive_gets_frames_holds_others_and_fails_fast_on_a_lost_peer() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _cfgs) = cluster(&rt, 3, net_config(Duration::from_secs(30)));
        let mut nets = open_all(&gws, ChannelId::derive("game", "async"));
        let mut n2 = nets.pop().unwrap();
        let mut n1 = nets.pop().unwrap();
        let mut n0 = nets.pop().unwrap();
        n2.send(0, Bytes::from_static(b"early")).unwrap();
        let waiting = rt.spawn(async move { (n0.recv_async(1).await, n0) });
        thread::sleep(Duration::from_millis(200));
        n1.send(0, Bytes::from_static(b"late")).unwrap();
        let (got, mut n0) = rt.block_on(waiting).unwrap();
        assert_eq!(got.unwrap(), Bytes::from_static(b"late"));
        // The frame from party 2 that came while waiting for party 1 is kept.
        assert_eq!(
            rt.block_on(n0.recv_async(2)).unwrap(),
            Bytes::from_static(b"early")
        );
        // The deadline is a timer.
        n0.set_recv_deadline(Duration::from_millis(200));
        let t = Instant::now();
        let err = rt.block_on(n0.recv_async(1)).unwrap_err();
        assert!(matches!(err, NetError::Timeout { peer: 1, .. }), "{err}");
        assert!(t.elapsed() >= Duration::from_millis(190) && t.elapsed() < Duration::from_secs(2));

        // A lost link to party 2 ends a wait on party 1 at once.
        let mut nets = open_all(&gws, ChannelId::derive("game", "async-lost"));
        let _k2 = nets.pop();
        let _k1 = nets.pop();
        let mut k0 = nets.pop().unwrap();
        let waiting = rt.spawn(async move {
            let e = k0.recv_async(1).await.unwrap_err();
            (Instant::now(), e)
        });
        thread::sleep(Duration::from_millis(300));
        assert!(!waiting.is_finished());
        let killed = Instant::now();
        gws[2].shutdown();
        let (at, err) = rt.block_on(waiting).unwrap();
        assert_eq!(err, NetError::Disconnected { peer: 2 });
        assert!(at.duration_since(killed) < Duration::from_secs(2));
    });
}

/// A party that aborts a channel ends its peers' receives on it at once, whether they wait on
/// it or on another party, with an error naming it, its code and its (cleaned) reason; a peer
/// that opens the channel later gets the abort as soon as it receives from that party.
#[test]
fn an_abort_fails_the_peers_receives_at_once_naming_the_party() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _cfgs) = cluster(&rt, 3, net_config(Duration::from_secs(30)));
        let id = ChannelId::derive("game", "aborted");
        let mut nets = open_all(&gws, id);
        let _n2 = nets.pop().unwrap();
        let mut n1 = nets.pop().unwrap();
        let mut n0 = nets.pop().unwrap();
        // Party 0 waits on party 1 (blocking), party 1 waits on party 0 (async); party 2 aborts.
        let blocking = thread::spawn(move || {
            let e = n0.recv(1).unwrap_err();
            (Instant::now(), e)
        });
        let asynchronous = rt.spawn(async move {
            let e = n1.recv_async(0).await.unwrap_err();
            (Instant::now(), e)
        });
        thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        gws[2].abort(id, "program_failed", "no private input\n left");
        let want = NetError::Aborted {
            peer: 2,
            code: "program_failed".into(),
            reason: "no private input left".into(),
        };
        let (at0, e0) = blocking.join().unwrap();
        let (at1, e1) = rt.block_on(asynchronous).unwrap();
        assert_eq!(e0, want);
        assert_eq!(e1, want);
        assert!(e0.to_string().contains("party 2"), "{e0}");
        let slowest = at0.max(at1).duration_since(t);
        eprintln!("abort reached both peers in {slowest:?}");
        assert!(slowest < Duration::from_secs(1), "{slowest:?}");

        // An abort for a channel not yet opened is waiting for it when it opens.
        let later = ChannelId::derive("game", "aborted-early");
        gws[1].abort(later, "internal", &"x".repeat(1000));
        thread::sleep(Duration::from_millis(200));
        let mut n0 = gws[0].open(later).unwrap();
        match n0.recv(1).unwrap_err() {
            NetError::Aborted {
                peer: 1,
                code,
                reason,
            } => {
                assert_eq!(code, "internal");
                assert_eq!(reason.len(), 300, "reasons are bounded");
            }
            other => panic!("expected an abort, got {other}"),
        }
        // Other channels and the connections are untouched.
        let nets = open_all(&gws, ChannelId::derive("game", "after-abort"));
        broadcast_round(nets, small);
    });
}

/// A send to a peer whose link an abort ended fails with that abort, not a bare disconnect.
#[test]
fn a_send_on_an_aborted_link_reports_the_abort() {
    bounded(Duration::from_secs(20), || {
        let rt = runtime();
        let (gws, _cfgs) = cluster(&rt, 2, net_config(Duration::from_secs(30)));
        let id = ChannelId::derive("game", "send-after-abort");
        let mut nets = open_all(&gws, id);
        let _n1 = nets.pop().unwrap();
        let mut n0 = nets.pop().unwrap();
        gws[1].abort(id, "internal", "store failed");
        let t = Instant::now();
        loop {
            match n0.send(1, Bytes::from_static(b"x")) {
                Ok(()) => {
                    assert!(t.elapsed() < Duration::from_secs(2), "the abort never came");
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    assert!(matches!(e, NetError::Aborted { peer: 1, .. }), "{e}");
                    break;
                }
            }
        }
    });
}
