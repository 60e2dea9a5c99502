//! Loopback TLS throughput: two parties exchange large frames for a number of rounds.
//!
//! `cargo run --release -p net --example tls_throughput -- [frame MiB] [rounds]`
//! (defaults: 32 MiB, 16 rounds). Prints MB/s per direction.

use std::thread;
use std::time::{Duration, Instant};

use net::{Bytes, NetConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args
        .next()
        .map_or(32, |a| a.parse().expect("frame size in MiB"));
    let rounds: usize = args
        .next()
        .map_or(16, |a| a.parse().expect("number of rounds"));
    let frame_len = mib << 20;
    let cfg = NetConfig {
        recv_deadline: Duration::from_secs(120),
        ..NetConfig::default()
    };
    let nets = net::tls::loopback_cluster(2, cfg).expect("connect two parties over TLS");
    let handles: Vec<_> = nets
        .into_iter()
        .map(|mut net| {
            thread::spawn(move || {
                let me = net.my_id();
                let frame = Bytes::from(vec![me as u8 ^ 0x5a; frame_len]);
                net.broadcast_exchange(Bytes::from_static(b"warm-up"))
                    .unwrap();
                let t0 = Instant::now();
                for _ in 0..rounds {
                    let got = net.broadcast_exchange(frame.clone()).unwrap();
                    assert_eq!(got[1 - me].len(), frame_len);
                }
                t0.elapsed()
            })
        })
        .collect();
    let slowest = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .max()
        .unwrap();
    let mb = (frame_len * rounds) as f64 / 1e6;
    println!(
        "2 parties, {rounds} rounds of {mib} MiB each way over TLS on loopback: {slowest:.2?}, \
         {:.0} MB/s per direction ({:.0} MB/s both directions)",
        mb / slowest.as_secs_f64(),
        2.0 * mb / slowest.as_secs_f64()
    );
}
