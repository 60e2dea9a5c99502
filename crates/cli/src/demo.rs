//! The newcomer's demo: N parties over mutual TLS multiply and compare secret inputs.

use anyhow::bail;
use field::Fp;
use protocol::prep::InsecureDealer;
use protocol::{Engine, EngineConfig, NonLinear, ShareVec};

use crate::local::{self, Transport};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Number of parties.
    #[arg(short = 'N', long = "parties", default_value_t = 3)]
    parties: usize,
    /// One secret input per party, comma-separated (party i inputs the i-th value).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    inputs: Option<Vec<i64>>,
    /// Use the INSECURE dealer for preprocessing (every party can derive every tuple). It is the
    /// only preprocessing available until the MASCOT offline phase lands, so the demo requires it.
    #[arg(long)]
    insecure_dealer: bool,
    /// How the parties are connected.
    #[arg(long, value_enum, default_value_t = Transport::Tls)]
    transport: Transport,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let n = args.parties;
    if n < 2 {
        bail!("a computation needs at least 2 parties (got -N {n})");
    }
    if !args.insecure_dealer {
        bail!(
            "the demo needs preprocessing, and the only generator available yet is the INSECURE dealer \
             (every party can derive every tuple). Re-run with --insecure-dealer to use it for this demo."
        );
    }
    let inputs: Vec<i64> = match args.inputs {
        Some(v) if v.len() == n => v,
        Some(v) => bail!(
            "--inputs has {} values but there are {n} parties; give exactly one per party",
            v.len()
        ),
        None => (0..n as i64)
            .map(|i| 1000 + 37 * i * (i + 3) % 101)
            .collect(),
    };
    eprintln!("WARNING: using the INSECURE dealer for preprocessing: every party can derive every tuple and the MAC key. Demo use only.");
    let seed: [u8; 32] = {
        let mut s = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut s);
        s
    };
    let nets = local::networks(n, args.transport, local::net_config())?;
    println!(
        "{n} parties connected over {:?} on loopback",
        args.transport
    );
    for (i, x) in inputs.iter().enumerate() {
        println!("  party {i} holds the secret input {x}");
    }
    let inputs_for_threads = inputs.clone();
    let results = local::run_parties(nets, move |me, net| {
        let dealer = InsecureDealer::new(me, n, seed);
        let mut e = Engine::new(net, dealer, EngineConfig::default());
        let mine = [Fp::from_i64(inputs_for_threads[me])];
        let counts = vec![1; n];
        let xs = e.input(&counts, &mine)?;
        // Product of all inputs: a balanced tree of batched multiplications.
        let mut level: Vec<ShareVec> = xs.clone();
        while level.len() > 1 {
            let half = level.len() / 2;
            let a = ShareVec::concat(&level[..half].iter().collect::<Vec<_>>());
            let b = ShareVec::concat(&level[half..2 * half].iter().collect::<Vec<_>>());
            let p = e.mul(&a, &b)?;
            let mut next: Vec<ShareVec> = (0..half).map(|i| p.slice(i..i + 1)).collect();
            if level.len() % 2 == 1 {
                next.push(level.pop().expect("odd element"));
            }
            level = next;
        }
        let product = level.pop().expect("at least one input");
        // Who holds the largest: compare every input with every other one, all in one batch.
        let mut a = ShareVec::default();
        let mut b = ShareVec::default();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    a.extend(&xs[i]);
                    b.extend(&xs[j]);
                }
            }
        }
        let ge = e.ge(&a, &b, 64)?;
        let mut out = e.reveal_many(&[&product, &ge])?;
        let ge = out.pop().expect("two outputs");
        let product = out.pop().expect("two outputs")[0];
        let stats = e.finish()?;
        Ok((product, ge, stats))
    })?;
    let (product, ge, _) = &results[0];
    // Party i is a maximum if it is ≥ every other party.
    let mut idx = 0;
    let mut winners = Vec::new();
    for i in 0..n {
        let mut all = true;
        for j in 0..n {
            if i != j {
                all &= ge[idx] == Fp::ONE;
                idx += 1;
            }
        }
        if all {
            winners.push(i);
        }
    }
    println!("revealed after the MAC check:");
    println!("  product of all inputs = {}", product.to_signed());
    println!("  largest input held by party {winners:?}");
    for (p, (_, _, s)) in results.iter().enumerate() {
        println!(
            "  party {p}: {} rounds, {} bytes sent, {} triples, {} bits, {} MAC checks",
            s.net.rounds, s.net.bytes_sent, s.tuples.triples, s.tuples.bits, s.checks
        );
    }
    Ok(())
}
