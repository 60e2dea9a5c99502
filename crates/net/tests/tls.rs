//! The TLS transport end to end, on 127.0.0.1 with ports chosen by the OS (port 0).
//!
//! Every test runs under [`bounded`], so a hang fails the test instead of stalling the suite.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use net::tls::{
    connect_blocking, connect_blocking_with, connect_with, dev_identity, dial_raw, PartyEndpoint,
    PartyIdentity, TlsNetConfig,
};
use net::{Bytes, NetConfig, NetError, Network, PartyId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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

fn net_config(recv_deadline: Duration) -> NetConfig {
    NetConfig {
        recv_deadline,
        ..NetConfig::default()
    }
}

/// One party's configuration and its already bound listener.
struct Party {
    cfg: TlsNetConfig,
    listener: Option<TcpListener>,
}

impl Party {
    fn connect(self) -> Result<Network, NetError> {
        connect_blocking_with(self.cfg, self.listener)
    }
}

/// `n` parties with development certificates, each listening on its own port-0 listener.
fn cluster(n: usize, net: NetConfig) -> Vec<Party> {
    let ids: Vec<PartyIdentity> = (0..n).map(|i| dev_identity(i).unwrap()).collect();
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
        .map(|(me, (identity, l))| Party {
            cfg: TlsNetConfig {
                me,
                parties: table.clone(),
                identity,
                net: net.clone(),
                connect_timeout: CONNECT_TIMEOUT,
            },
            listener: Some(l),
        })
        .collect()
}

/// Connect every party on its own thread and run `body` there; results in party order.
fn run_parties<T: Send + 'static>(
    parties: Vec<Party>,
    body: impl Fn(Network) -> T + Clone + Send + 'static,
) -> Vec<T> {
    let handles: Vec<_> = parties
        .into_iter()
        .map(|p| {
            let body = body.clone();
            thread::spawn(move || body(p.connect().expect("connect")))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Deterministic pseudo-random bytes for a tag.
fn payload(tag: u64, len: usize) -> Bytes {
    let mut v = Vec::with_capacity(len + 8);
    let mut x = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

fn tag(from: PartyId, to: PartyId, round: u64) -> u64 {
    ((from as u64) << 40) | ((to as u64) << 20) | round
}

/// One broadcast round and three exchange rounds; round 3 carries one `big` frame from party 0
/// to party n−1. Every frame is checked byte for byte, and the counters must add up.
fn rounds_over_tls(n: usize, big: usize) {
    let parties = cluster(n, net_config(Duration::from_secs(30)));
    let stats = run_parties(parties, move |mut net| {
        let (me, n) = (net.my_id(), net.n_parties());
        let (mut sent, mut received) = (0u64, 0u64);

        let bcast_len = |p: PartyId| 100 + p;
        let got = net
            .broadcast_exchange(payload(tag(me, 99, 1), bcast_len(me)))
            .unwrap();
        for (p, frame) in got.iter().enumerate() {
            assert!(
                *frame == payload(tag(p, 99, 1), bcast_len(p)),
                "broadcast from {p} to {me}"
            );
            if p != me {
                sent += bcast_len(me) as u64;
                received += bcast_len(p) as u64;
            }
        }

        for round in 2..=4u64 {
            let len = |from: PartyId, to: PartyId| {
                if round == 3 && from == 0 && to == n - 1 {
                    big
                } else {
                    1000 * round as usize + 10 * from + to
                }
            };
            let frames = (0..n)
                .map(|p| {
                    if p == me {
                        Bytes::new()
                    } else {
                        payload(tag(me, p, round), len(me, p))
                    }
                })
                .collect();
            let got = net.exchange(frames).unwrap();
            assert!(got[me].is_empty());
            for p in (0..n).filter(|&p| p != me) {
                assert!(
                    got[p] == payload(tag(p, me, round), len(p, me)),
                    "round {round}: frame from {p} to {me} differs"
                );
                sent += len(me, p) as u64;
                received += len(p, me) as u64;
            }
        }
        let s = net.stats();
        assert_eq!(s.rounds, 4);
        assert_eq!(s.frames_sent, 4 * (n as u64 - 1));
        assert_eq!(
            (s.bytes_sent, s.bytes_received),
            (sent, received),
            "party {me}"
        );
        s
    });
    let total_sent: u64 = stats.iter().map(|s| s.bytes_sent).sum();
    let total_received: u64 = stats.iter().map(|s| s.bytes_received).sum();
    assert_eq!(total_sent, total_received);
    assert!(total_sent >= big as u64);
}

#[test]
fn two_parties_exchange_rounds_with_a_large_frame() {
    bounded(Duration::from_secs(120), || rounds_over_tls(2, 16 << 20));
}

#[test]
fn three_parties_exchange_rounds_with_a_large_frame() {
    bounded(Duration::from_secs(120), || {
        rounds_over_tls(3, (16 << 20) + 7)
    });
}

#[test]
fn five_parties_exchange_rounds_with_a_large_frame() {
    bounded(Duration::from_secs(120), || rounds_over_tls(5, 16 << 20));
}

#[test]
fn async_connect_runs_on_the_callers_runtime() {
    bounded(Duration::from_secs(60), || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let parties = cluster(3, net_config(Duration::from_secs(10)));
        rt.block_on(async {
            let connecting: Vec<_> = parties
                .into_iter()
                .map(|p| tokio::spawn(connect_with(p.cfg, p.listener)))
                .collect();
            let mut rounds = Vec::new();
            for c in connecting {
                let mut net = c.await.unwrap().unwrap();
                // The protocol is synchronous: it runs on a blocking thread, not on a worker.
                rounds.push(tokio::task::spawn_blocking(move || {
                    let me = net.my_id();
                    let got = net
                        .broadcast_exchange(payload(tag(me, 0, 7), 5000))
                        .unwrap();
                    for (p, f) in got.iter().enumerate() {
                        assert!(*f == payload(tag(p, 0, 7), 5000));
                    }
                }));
            }
            for r in rounds {
                r.await.unwrap();
            }
        });
    });
}

#[test]
fn connect_blocking_inside_a_runtime_is_refused() {
    bounded(Duration::from_secs(30), || {
        let mut parties = cluster(2, NetConfig::default());
        let p = parties.remove(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt
            .block_on(async move { connect_blocking(p.cfg) })
            .unwrap_err();
        assert!(matches!(err, NetError::Config(_)), "{err}");
    });
}

#[test]
fn identity_not_in_the_table_is_a_config_error() {
    bounded(Duration::from_secs(30), || {
        let mut parties = cluster(2, NetConfig::default());
        let mut p = parties.remove(0);
        p.cfg.identity = dev_identity(0).unwrap();
        let err = p.connect().unwrap_err();
        assert!(
            matches!(err, NetError::Config(ref m) if m.contains("identity")),
            "{err}"
        );

        let mut p = parties.remove(0);
        p.cfg.me = 5;
        assert!(matches!(p.connect(), Err(NetError::Config(_))));
    });
}

/// An intruder with a certificate that is not in the table dials party 0 pretending to be party 1:
/// the intruder gets a TLS error at once, party 0 keeps accepting and then connects to the real
/// party 1.
#[test]
fn client_with_unknown_certificate_is_refused() {
    bounded(Duration::from_secs(60), || {
        let mut parties = cluster(2, net_config(Duration::from_secs(5)));
        let honest1 = parties.pop().unwrap();
        let honest0 = parties.pop().unwrap();

        let mut intruder = honest1.cfg.clone();
        intruder.identity = dev_identity(1).unwrap();
        intruder.parties[1].cert_pem = intruder.identity.cert_pem.clone();

        let h0 = thread::spawn(move || honest0.connect());
        let t0 = Instant::now();
        let err = connect_blocking(intruder).unwrap_err();
        assert!(matches!(err, NetError::Tls(_)), "{err}");
        assert!(
            t0.elapsed() < CONNECT_TIMEOUT,
            "the refusal must not wait for the timeout"
        );

        let mut net1 = honest1.connect().unwrap();
        let mut net0 = h0.join().unwrap().unwrap();
        net1.send(0, Bytes::from_static(b"real")).unwrap();
        assert_eq!(net0.recv(1).unwrap().as_ref(), b"real");
    });
}

/// Party 1 dials party 0's address, where an impostor with another certificate listens: party 1
/// refuses it, and the impostor never gets a link.
#[test]
fn server_with_wrong_certificate_is_refused() {
    bounded(Duration::from_secs(60), || {
        let mut parties = cluster(2, NetConfig::default());
        let honest1 = parties.pop().unwrap();
        let honest0 = parties.pop().unwrap();

        let mut impostor = honest0.cfg.clone();
        impostor.identity = dev_identity(0).unwrap();
        impostor.parties[0].cert_pem = impostor.identity.cert_pem.clone();
        impostor.connect_timeout = Duration::from_secs(2);
        let listener = honest0.listener;
        let h = thread::spawn(move || connect_blocking_with(impostor, listener));

        let err = honest1.connect().unwrap_err();
        assert!(matches!(err, NetError::Tls(_)), "{err}");
        let err = h.join().unwrap().unwrap_err();
        assert!(matches!(err, NetError::Io { peer: 1, .. }), "{err}");
    });
}

/// A party that drops its network mid-protocol: the others fail with `Disconnected` well within
/// the receive deadline.
#[test]
fn killed_peer_is_noticed_within_the_deadline() {
    bounded(Duration::from_secs(60), || {
        let deadline = Duration::from_secs(2);
        let parties = cluster(3, net_config(deadline));
        // The survivors stay up until both have seen the failure, so neither blames the other.
        let survivors = std::sync::Arc::new(std::sync::Barrier::new(2));
        let results = run_parties(parties, move |mut net| {
            let me = net.my_id();
            net.broadcast_exchange(Bytes::from(vec![me as u8; 10]))
                .unwrap();
            if me == 2 {
                drop(net); // closes its links and shuts its runtime down
                return None;
            }
            let t0 = Instant::now();
            let err = net
                .broadcast_exchange(Bytes::from_static(b"second"))
                .unwrap_err();
            let elapsed = t0.elapsed();
            survivors.wait();
            Some((err, elapsed))
        });
        for (err, elapsed) in results.into_iter().flatten() {
            assert!(
                matches!(
                    err,
                    NetError::Disconnected { peer: 2 } | NetError::Timeout { peer: 2, .. }
                ),
                "{err}"
            );
            assert!(
                elapsed < deadline + Duration::from_secs(1),
                "took {elapsed:?}"
            );
        }
    });
}

/// A party that stays connected but sends nothing: the others time out after the deadline.
#[test]
fn silent_peer_times_out_after_the_deadline() {
    bounded(Duration::from_secs(60), || {
        let deadline = Duration::from_millis(700);
        let parties = cluster(3, net_config(deadline));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
        let handles: Vec<_> = parties
            .into_iter()
            .map(|p| {
                let release_rx = release_rx.clone();
                thread::spawn(move || {
                    let mut net = p.connect().unwrap();
                    if net.my_id() == 2 {
                        let _ = release_rx
                            .lock()
                            .unwrap()
                            .recv_timeout(Duration::from_secs(20));
                        return None;
                    }
                    let t0 = Instant::now();
                    let err = net
                        .broadcast_exchange(Bytes::from_static(b"x"))
                        .unwrap_err();
                    Some((err, t0.elapsed()))
                })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles.into_iter().take(2) {
            results.push(h.join().unwrap().unwrap());
        }
        release_tx.send(()).unwrap();
        for (err, elapsed) in results {
            assert_eq!(
                err,
                NetError::Timeout {
                    peer: 2,
                    after: deadline
                }
            );
            assert!(elapsed >= deadline && elapsed < deadline + Duration::from_secs(1));
        }
    });
}

/// Party 0 connects normally; a raw client holding party 1's identity completes the handshake and
/// then does `misbehave` on the wire. Returns what party 0 saw on its next receive from party 1.
fn raw_party1<F, Fut>(max_frame: usize, misbehave: F) -> NetError
where
    F: FnOnce(net::tls::RawClientStream) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let net = NetConfig {
        recv_deadline: Duration::from_secs(10),
        max_frame,
    };
    let mut parties = cluster(2, net);
    let p1 = parties.pop().unwrap();
    let p0 = parties.pop().unwrap();
    let h0 = thread::spawn(move || {
        let mut net = p0.connect().unwrap();
        let err = net.recv(1).unwrap_err();
        // Once broken, a link stays broken.
        assert_eq!(net.recv(1).unwrap_err(), err);
        err
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tls = dial_raw(&p1.cfg, 0).await.unwrap();
        misbehave(tls).await;
    });
    h0.join().unwrap()
}

#[test]
fn oversized_length_prefix_is_refused_and_the_connection_closed() {
    bounded(Duration::from_secs(60), || {
        let max = 1 << 20;
        let err = raw_party1(max, |mut tls| async move {
            tls.write_all(&(max as u32 + 1).to_le_bytes())
                .await
                .unwrap();
            tls.flush().await.unwrap();
            // Party 0 hangs up: the next read ends instead of blocking.
            let mut buf = [0u8; 16];
            let r = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await;
            assert!(
                matches!(r, Ok(Ok(0)) | Ok(Err(_))),
                "connection still open: {r:?}"
            );
        });
        assert_eq!(
            err,
            NetError::FrameTooLarge {
                peer: 1,
                len: max + 1,
                max
            }
        );
    });
}

#[test]
fn truncated_payload_is_malformed() {
    bounded(Duration::from_secs(60), || {
        let err = raw_party1(1 << 20, |mut tls| async move {
            tls.write_all(&100u32.to_le_bytes()).await.unwrap();
            tls.write_all(&[7u8; 10]).await.unwrap();
            tls.shutdown().await.unwrap();
        });
        assert!(
            matches!(err, NetError::Malformed { peer: 1, ref reason } if reason.contains("10 of 100")),
            "{err}"
        );
    });
}

#[test]
fn connection_dropped_mid_header_is_malformed() {
    bounded(Duration::from_secs(60), || {
        let err = raw_party1(1 << 20, |mut tls| async move {
            tls.write_all(&[1u8, 0]).await.unwrap();
            tls.flush().await.unwrap();
            drop(tls); // TCP close without TLS close_notify
        });
        assert!(matches!(err, NetError::Malformed { peer: 1, .. }), "{err}");
    });
}

#[test]
fn clean_close_between_frames_is_disconnected() {
    bounded(Duration::from_secs(60), || {
        let err = raw_party1(1 << 20, |mut tls| async move {
            tls.shutdown().await.unwrap();
        });
        assert_eq!(err, NetError::Disconnected { peer: 1 });
    });
}

/// Garbage and a silent socket on party 0's port do not disturb it: the real party 1 connects.
#[test]
fn garbage_before_tls_does_not_disturb_the_acceptor() {
    bounded(Duration::from_secs(60), || {
        use std::io::Write;
        let mut parties = cluster(2, NetConfig::default());
        let p1 = parties.pop().unwrap();
        let p0 = parties.pop().unwrap();
        let addr = p0.cfg.parties[0].addr.clone();
        let h0 = thread::spawn(move || p0.connect());

        let _silent = std::net::TcpStream::connect(&addr).unwrap();
        let mut garbage = std::net::TcpStream::connect(&addr).unwrap();
        garbage
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        garbage.write_all(&[0xff; 4096]).unwrap();
        let mut fake_hello = std::net::TcpStream::connect(&addr).unwrap();
        fake_hello
            .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])
            .unwrap();

        let mut net1 = p1.connect().unwrap();
        let mut net0 = h0.join().unwrap().unwrap();
        net1.send(0, Bytes::from_static(b"one")).unwrap();
        let got = net0
            .broadcast_exchange(Bytes::from_static(b"zero"))
            .unwrap();
        assert_eq!(got[1].as_ref(), b"one");
        assert_eq!(net1.recv(0).unwrap().as_ref(), b"zero");
    });
}

/// A dialer that reaches something speaking garbage reports a TLS error, promptly.
#[test]
fn dialer_reports_a_garbage_server() {
    bounded(Duration::from_secs(60), || {
        use std::io::{Read, Write};
        let mut parties = cluster(2, NetConfig::default());
        let p1 = parties.pop().unwrap();
        let fake = parties.pop().unwrap().listener.unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = fake.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        let t0 = Instant::now();
        let err = p1.connect().unwrap_err();
        assert!(matches!(err, NetError::Tls(_)), "{err}");
        assert!(t0.elapsed() < CONNECT_TIMEOUT);
        server.join().unwrap();
    });
}

/// A second connection from a party that is already connected is refused; the first one stays.
#[test]
fn duplicate_connection_is_refused() {
    bounded(Duration::from_secs(60), || {
        let mut parties = cluster(3, net_config(Duration::from_secs(10)));
        let p2 = parties.pop().unwrap();
        let p1 = parties.pop().unwrap();
        let p0 = parties.pop().unwrap();
        let h0 = thread::spawn(move || p0.connect());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut first = dial_raw(&p2.cfg, 0).await.unwrap();
            // Party 0 still waits for party 1, so it is still accepting.
            let err = dial_raw(&p2.cfg, 0).await.unwrap_err();
            assert!(
                matches!(err, NetError::Tls(ref m) if m.contains("refused")),
                "{err}"
            );
            let h1 = thread::spawn(move || p1.connect());
            let _to1 = dial_raw(&p2.cfg, 1).await.unwrap();
            let mut net0 = h0.join().unwrap().unwrap();
            let _net1 = h1.join().unwrap().unwrap();
            // The first connection is the live link to party 2.
            first.write_all(&3u32.to_le_bytes()).await.unwrap();
            first.write_all(b"dup").await.unwrap();
            first.flush().await.unwrap();
            assert_eq!(net0.recv(2).unwrap().as_ref(), b"dup");
        });
    });
}

/// Party 1 dials a party 0 that never starts: an error naming party 0 after the connect timeout.
#[test]
fn absent_server_fails_after_connect_timeout() {
    bounded(Duration::from_secs(60), || {
        let mut parties = cluster(2, NetConfig::default());
        let mut p1 = parties.pop().unwrap();
        drop(parties); // party 0's listener closes: connections are refused
        let timeout = Duration::from_millis(1500);
        p1.cfg.connect_timeout = timeout;
        let t0 = Instant::now();
        let err = p1.connect().unwrap_err();
        let elapsed = t0.elapsed();
        assert!(
            matches!(err, NetError::Io { peer: 0, ref reason } if reason.contains("could not reach")),
            "{err}"
        );
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_secs(2),
            "{elapsed:?}"
        );
    });
}

/// Party 0 waits for a party 1 that never dials: an error naming party 1 after the timeout.
#[test]
fn absent_client_fails_after_connect_timeout() {
    bounded(Duration::from_secs(60), || {
        let mut parties = cluster(3, NetConfig::default());
        let mut p0 = parties.remove(0);
        let timeout = Duration::from_millis(1500);
        p0.cfg.connect_timeout = timeout;
        let t0 = Instant::now();
        let err = p0.connect().unwrap_err();
        let elapsed = t0.elapsed();
        assert!(
            matches!(err, NetError::Io { peer: 1, ref reason } if reason.contains("1, 2 did not connect")),
            "{err}"
        );
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_secs(2),
            "{elapsed:?}"
        );
    });
}

/// Loopback throughput for two parties exchanging 32 MiB frames. Run with `--nocapture`.
#[test]
fn throughput_two_parties_32mib_frames() {
    bounded(Duration::from_secs(180), || {
        const FRAME: usize = 32 << 20;
        const ROUNDS: usize = 8;
        let parties = cluster(2, net_config(Duration::from_secs(60)));
        let results = run_parties(parties, |mut net| {
            let me = net.my_id();
            let frame = payload(tag(me, 1 - me, 0), FRAME);
            net.broadcast_exchange(Bytes::from_static(b"warm-up"))
                .unwrap();
            let t0 = Instant::now();
            for _ in 0..ROUNDS {
                let got = net.broadcast_exchange(frame.clone()).unwrap();
                assert_eq!(got[1 - me].len(), FRAME);
            }
            let elapsed = t0.elapsed();
            let got = net.broadcast_exchange(frame.clone()).unwrap();
            assert!(got[1 - me] == payload(tag(1 - me, me, 0), FRAME));
            elapsed
        });
        let slowest = results.into_iter().max().unwrap();
        let mb = (FRAME * ROUNDS) as f64 / 1e6;
        println!(
            "TLS loopback, 2 parties, {ROUNDS} rounds of 32 MiB each way: {slowest:.2?}, \
             {:.0} MB/s per direction, {:.0} MB/s both directions",
            mb / slowest.as_secs_f64(),
            2.0 * mb / slowest.as_secs_f64()
        );
    });
}

#[test]
fn loopback_cluster_connects_every_party() {
    bounded(Duration::from_secs(60), || {
        let nets = net::tls::loopback_cluster(4, net_config(Duration::from_secs(10))).unwrap();
        assert_eq!(nets.len(), 4);
        let got = run_nets(nets, |mut net| {
            let me = net.my_id();
            net.broadcast_exchange(Bytes::from(vec![me as u8; 3]))
                .unwrap()
        });
        for frames in got {
            for (p, f) in frames.iter().enumerate() {
                assert_eq!(f.as_ref(), &[p as u8; 3]);
            }
        }
    });
}

fn run_nets<T: Send + 'static>(
    nets: Vec<Network>,
    body: impl Fn(Network) -> T + Clone + Send + 'static,
) -> Vec<T> {
    let handles: Vec<_> = nets
        .into_iter()
        .map(|net| {
            let body = body.clone();
            thread::spawn(move || body(net))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}
