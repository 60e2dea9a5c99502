//! The newcomer's demo: N parties over mutual TLS multiply and compare secret inputs.

use anyhow::bail;
use field::Fp;
use offline::{MascotConfig, OnDemandMascot};
use protocol::prep::{InsecureDealer, Preprocessing};
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
    /// Use the INSECURE dealer for preprocessing instead of MASCOT (every party can derive every
    /// tuple): for quick looks only.
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
    let insecure = args.insecure_dealer;
    if insecure {
        eprintln!("WARNING: using the INSECURE dealer for preprocessing: every party can derive every tuple and the MAC key. Demo use only.");
    }
    let seed: [u8; 32] = {
        let mut s = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut s);
        s
    };
    let nets = local::networks(n, args.transport, local::net_config())?;
    // MASCOT's own mesh, so that its traffic is reported apart.
    let prep_nets: Vec<Option<net::Network>> = if insecure {
        (0..n).map(|_| None).collect()
    } else {
        local::networks(n, args.transport, local::net_config())?
            .into_iter()
            .map(Some)
            .collect()
    };
    let prep_nets = std::sync::Arc::new(std::sync::Mutex::new(prep_nets));
    println!(
        "{n} parties connected over {:?} on loopback; preprocessing: {}",
        args.transport,
        if insecure {
            "the INSECURE dealer"
        } else {
            "MASCOT (maliciously secure), generated as the computation needs it"
        }
    );
    for (i, x) in inputs.iter().enumerate() {
        println!("  party {i} holds the secret input {x}");
    }
    let inputs_for_threads = inputs.clone();
    let results = local::run_parties(nets, move |me, net| {
        let mine = Fp::from_i64(inputs_for_threads[me]);
        let prep_net = prep_nets.lock().expect("prep nets")[me].take();
        match prep_net {
            None => {
                let dealer = InsecureDealer::new(me, n, seed);
                let (p, ge, stats) =
                    compute(Engine::new(net, dealer, EngineConfig::default()), mine)?;
                Ok((p, ge, stats, None))
            }
            Some(prep_net) => {
                let prep = OnDemandMascot::setup(prep_net, MascotConfig::with_session(seed))?;
                let meter = prep.meter();
                let (p, ge, stats) =
                    compute(Engine::new(net, prep, EngineConfig::default()), mine)?;
                Ok((p, ge, stats, Some(meter.read())))
            }
        }
    })?;
    let (product, ge, _, _) = &results[0];
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
    for (p, (_, _, s, prep)) in results.iter().enumerate() {
        if let Some(ph) = prep {
            println!(
                "  party {p}: preprocessing {:.3} s, {} rounds, {} bytes sent, {} tuples generated",
                ph.time.as_secs_f64(),
                ph.net.rounds,
                ph.net.bytes_sent,
                ph.generated
            );
        }
        println!(
            "  party {p}: online {} rounds, {} bytes sent, {} triples, {} bits, {} MAC checks",
            s.net.rounds, s.net.bytes_sent, s.tuples.triples, s.tuples.bits, s.checks
        );
    }
    Ok(())
}

/// One party's computation: the product of all inputs, and every input compared with every
/// other one; revealed after the MAC check.
fn compute<P: Preprocessing>(
    mut e: Engine<P>,
    mine: Fp,
) -> anyhow::Result<(Fp, Vec<Fp>, protocol::RunStats)> {
    let n = e.n_parties();
    let counts = vec![1; n];
    let xs = e.input(&counts, &[mine])?;
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
}
