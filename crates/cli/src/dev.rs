//! `ephemeral dev [-N 3] [--insecure-dealer]`: a whole local virtual cloud in one process, for trying
//! Ephemeral out.
//!
//! Everything lives in one directory (default `.ephemeral-dev`): development certificates, one
//! config file per party, the parties' storage, the shared dealer seed and a client config
//! (`cloud.toml`) for the CLI. Running it again reuses the directory, so secrets survive
//! restarts; `--fresh` starts over.
//!
//! **Transport.** Each party's API serves HTTPS with its development certificate, and the cloud
//! file pins that certificate (`ca_cert`), so tokens and masked values never travel in clear, even
//! on loopback; the gateways speak mutual TLS as always.
//!
//! **Tuples.** Secure by default: the parties generate tuples with MASCOT, the node's maliciously
//! secure generator, with small pools so that start-up stays fast ([`node::DEV_MASCOT_POOLS`]);
//! a game that needs more than the pools hold waits for its tuples and shows progress.
//! `--insecure-dealer` selects INSECURE dealer preprocessing from a shared seed instead, so that
//! anybody with the directory can read every secret: development only, and it says so loudly.
//!
//! **Switching generators** needs `--fresh`: the directory remembers its generator (file
//! `generator`; a directory without it was made by the dealer), and a directory made with the
//! other one is refused. Wiping only the tuple store would not do: the stored secrets are
//! authenticated under the MAC key of the tuples that made them (with the dealer, a key derived
//! from the seed), so they cannot be used with another generator's tuples, and MASCOT on a
//! dealer's tuple store would keep the dealer's known MAC key.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use rand_core::{OsRng, RngCore};

#[derive(Args)]
pub struct DevArgs {
    /// Number of parties.
    #[arg(short = 'N', long = "parties", default_value_t = 3)]
    pub parties: usize,
    /// Directory for certificates, configs, storage and the client config.
    #[arg(long, default_value = ".ephemeral-dev")]
    pub dir: PathBuf,
    /// First port: party i's API listens on PORT+i, its MPC gateway on PORT+100+i.
    #[arg(long, default_value_t = 7100)]
    pub port: u16,
    /// Delete the directory first (all secrets, tuples and functions of earlier runs).
    #[arg(long)]
    pub fresh: bool,
    /// Use the INSECURE dealer instead of MASCOT (every party's tuples and MAC key follow from a
    /// seed stored in the directory: anyone with it reads every secret). Development only.
    /// Switching an existing directory to the other generator needs --fresh.
    #[arg(long)]
    pub insecure_dealer: bool,
    /// MASCOT, the default (kept so that older command lines still work).
    #[arg(long, hide = true, conflicts_with = "insecure_dealer")]
    pub mascot: bool,
    /// Also replace an existing ~/.config/ephemeral/cloud.toml (by default an existing file is
    /// kept, and the cloud file is only written into the directory).
    #[arg(long)]
    pub overwrite_cloud_file: bool,
}

/// Which generator a dev directory's storage was made with.
const GENERATOR_FILE: &str = "generator";
const DEALER: &str = "insecure-dealer";
const MASCOT: &str = "mascot";

/// Refuses a directory whose storage was made with the other generator; records the generator.
fn check_generator(dir: &Path, wanted: &str) -> anyhow::Result<()> {
    let marker = dir.join(GENERATOR_FILE);
    let has_storage = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("party") && name.ends_with("-data")
        });
    let recorded = match std::fs::read_to_string(&marker) {
        Ok(s) => Some(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", marker.display())),
    };
    // Directories from before the generator was recorded were always made by the dealer.
    let made_with = recorded.or_else(|| has_storage.then(|| DEALER.to_string()));
    if let Some(made_with) = made_with.filter(|m| has_storage && m != wanted) {
        let (was, now) = if made_with == MASCOT {
            ("MASCOT", "the INSECURE dealer")
        } else {
            ("the INSECURE dealer", "MASCOT")
        };
        bail!(
            "{} was made with {was}: its tuple store holds that generator's tuples and MAC key, and \
             its secrets are authenticated under that key, so it cannot switch to {now}. Re-run \
             with --fresh to start over (deletes its secrets, tuples and functions), or use \
             another --dir.",
            dir.display()
        );
    }
    std::fs::write(&marker, format!("{wanted}\n"))
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `path`, or writes `make()` to it first.
fn read_or_create(
    path: &Path,
    make: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if path.exists() {
        return std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()));
    }
    let s = make()?;
    std::fs::write(path, &s).with_context(|| format!("writing {}", path.display()))?;
    Ok(s)
}

/// Where the CLI looks for its cloud file by default.
fn default_cloud_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/ephemeral/cloud.toml"))
}

const DEV_MARK: &str = "# written by `ephemeral dev`";

pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let n = args.parties;
    if !(2..=16).contains(&n) {
        bail!("-N must be between 2 and 16 parties, got {n}");
    }
    if args.port as usize + 100 + n > u16::MAX as usize {
        bail!("--port {} leaves no room for {n} parties", args.port);
    }
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("deleting {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    let mascot = !args.insecure_dealer;
    check_generator(&dir, if mascot { MASCOT } else { DEALER })?;
    // The dealer's seed (only the dealer needs one).
    let seed = if mascot {
        None
    } else {
        let seed = read_or_create(&dir.join("insecure-dealer-seed"), || {
            let mut b = [0u8; 32];
            OsRng.fill_bytes(&mut b);
            Ok(hex(&b))
        })?;
        Some(seed.trim().to_string())
    };
    let token = read_or_create(&dir.join("dev-token"), || {
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        Ok(format!("dev-{}", hex(&b)))
    })?;
    let token = token.trim().to_string();
    let tuples = match &seed {
        Some(seed_hex) => node::DevTuples::InsecureDealer { seed_hex },
        None => node::DevTuples::Mascot,
    };
    let parties: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                format!("https://127.0.0.1:{}", args.port as usize + i),
                format!("127.0.0.1:{}", args.port as usize + 100 + i),
            )
        })
        .collect();
    let mut configs = Vec::new();
    for i in 0..n {
        let (cert, key) = (
            dir.join(format!("party{i}.pem")),
            dir.join(format!("party{i}.key")),
        );
        if !cert.exists() || !key.exists() {
            let id = net::tls::dev_identity(i)?;
            std::fs::write(&cert, &id.cert_pem)?;
            std::fs::write(&key, &id.key_pem)?;
            restrict(&key)?;
        }
        let path = dir.join(format!("party{i}.toml"));
        // The API serves HTTPS with the party's development certificate (its names include
        // 127.0.0.1), which the client's cloud file trusts: bearer tokens never travel in clear.
        let text = node::dev_config_text_with(i, &parties, &dir, &token, tuples).replacen(
            "[api]\n",
            &format!("[api]\ntls_cert = \"party{i}.pem\"\ntls_key = \"party{i}.key\"\n"),
            1,
        );
        std::fs::write(&path, text)?;
        configs.push(node::config::NodeConfig::load(&path)?);
    }
    let mut cloud = format!("{DEV_MARK} for {}\ntimeout_secs = 600\n\n", dir.display());
    for (i, (api, _)) in parties.iter().enumerate() {
        let ca = std::fs::canonicalize(dir.join(format!("party{i}.pem")))
            .with_context(|| format!("locating party{i}.pem in {}", dir.display()))?;
        cloud.push_str(&format!(
            "[[parties]]\nid = {i}\nurl = \"{api}\"\ntoken = \"{token}\"\nca_cert = {:?}\n\n",
            ca.display().to_string()
        ));
    }
    let cloud_path = dir.join("cloud.toml");
    std::fs::write(&cloud_path, &cloud)?;
    restrict(&cloud_path)?;
    // The CLI's default cloud file is the user's: written when there is none, replaced only
    // when asked (--overwrite-cloud-file).
    let mut also = None;
    let mut kept = None;
    if let Some(p) = default_cloud_path() {
        let existing = std::fs::read_to_string(&p).ok();
        if existing.is_none() || args.overwrite_cloud_file {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, &cloud)?;
            restrict(&p)?;
            also = Some(p);
        } else if existing.as_deref() == Some(cloud.as_str()) {
            also = Some(p);
        } else {
            kept = Some(p);
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dev")
        .build()
        .context("cannot start the async runtime")?;
    eprintln!(
        "{}",
        if mascot {
            "tuples: MASCOT (maliciously secure)"
        } else {
            "WARNING: tuples: INSECURE dealer (every party's tuples and MAC key follow from a shared seed): anyone with the directory reads every secret. Development only; leave out --insecure-dealer for MASCOT"
        }
    );
    rt.block_on(async move {
        let mut running = Vec::new();
        for cfg in configs {
            running.push(node::Node::start(cfg).await.with_context(|| {
                "starting a party (is another `ephemeral dev` running? use --port to move)"
            })?);
        }
        println!("A local virtual cloud of {n} parties is up.");
        if mascot {
            println!("  tuples: MASCOT (maliciously secure), small pools for a fast start; a game that needs more waits for its tuples and shows progress.");
        } else {
            println!("  tuples: INSECURE dealer (shared seed in {}): anyone with it can read every secret; development only. Leave out --insecure-dealer (with --fresh) for MASCOT.", dir.display());
        }
        for (i, r) in running.iter().enumerate() {
            println!("  party {i}: API {}   MPC gateway {} (mutual TLS)", r.api_url(), r.mpc_addr);
        }
        println!("Client config: {}", cloud_path.display());
        match &also {
            Some(p) => println!("  (also written to {}, where the CLI looks by default)", p.display()),
            None => println!("  (use it with --cloud {} or EPHEMERAL_CLOUD)", cloud_path.display()),
        }
        if let Some(p) = &kept {
            println!("  {} exists and was kept; pass --overwrite-cloud-file to replace it with this cloud", p.display());
        }
        println!("Try, in another terminal:");
        println!("  ephemeral secret create 42 --tag name=a");
        println!("  ephemeral secret create 17 --tag name=b");
        println!("  ephemeral secret list");
        println!("  ephemeral execute examples/seed.mpc --input <ID-OF-42> --input <ID-OF-17> --output plaintext");
        println!("  ephemeral tuples stats");
        println!("Stop with Ctrl-C.");
        node::wait_for_signal().await;
        eprintln!("stopping the {n} parties ...");
        let stops: Vec<_> = running
            .into_iter()
            .map(|r| tokio::spawn(r.stop_within(std::time::Duration::from_secs(5))))
            .collect();
        for s in stops {
            let _ = s.await;
        }
        Ok::<_, anyhow::Error>(())
    })
}

/// Makes a file readable by its owner only (keys, tokens).
fn restrict(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_keeps_its_generator_until_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // An empty directory takes either generator, and remembers it.
        check_generator(d, MASCOT).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join(GENERATOR_FILE)).unwrap(),
            "mascot\n"
        );
        // Until a party has storage, it may still change.
        check_generator(d, DEALER).unwrap();
        std::fs::create_dir(d.join("party0-data")).unwrap();
        check_generator(d, DEALER).unwrap();
        let e = check_generator(d, MASCOT).unwrap_err().to_string();
        assert!(
            e.contains("INSECURE dealer") && e.contains("--fresh"),
            "{e}"
        );

        // A directory from before --mascot (storage, no marker) was made by the dealer.
        let old = tempfile::tempdir().unwrap();
        std::fs::create_dir(old.path().join("party1-data")).unwrap();
        assert!(check_generator(old.path(), MASCOT).is_err());
        check_generator(old.path(), DEALER).unwrap();

        let m = tempfile::tempdir().unwrap();
        check_generator(m.path(), MASCOT).unwrap();
        std::fs::create_dir(m.path().join("party0-data")).unwrap();
        let e = check_generator(m.path(), DEALER).unwrap_err().to_string();
        assert!(e.contains("made with MASCOT"), "{e}");
        check_generator(m.path(), MASCOT).unwrap();
    }
}
