//! `ephemeral deploy configs`: everything a containerised virtual cloud needs, from one command.
//!
//! For N parties on N hosts (containers, machines, or Kubernetes Services) it writes:
//!
//! ```text
//! DIR/party<i>/party.toml     the node's config (listens on every address, same ports on every host)
//! DIR/party<i>/mpc.key        the party's mutual-TLS key        (0600)
//! DIR/party<i>/api.pem, .key  the API's HTTPS certificate and key (0600)
//! DIR/party<i>/tokens/<user>  the client's bearer token for this party (0600, `token_file`)
//! DIR/party<i>/peers/party<j>.pem   every party's gateway certificate (public: the pins)
//! DIR/data/party<i>/          the party's storage, when --storage-path is relative to it
//! DIR/cloud.toml              the client's cloud file: each party's URL, token and API pin
//! DIR/compose.env             ports and user for deploy/compose/docker-compose.yml
//! ```
//!
//! Each party's directory is what its operator installs (mounted read-only at
//! `/etc/ephemeral`); only `peers/` and each party's `api.pem` cross organisations. Every key
//! is made here, fresh, and never printed.
//!
//! **Who reads the files.** The image runs as uid 10001. Run as root, this command hands every
//! party's files to that user (`--owner`), so the containers can read their keys while the
//! files stay private (0600); run as another user, the files stay theirs, and compose.env
//! tells Compose to run the containers as that (non-root) user instead.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rand_core::{OsRng, RngCore};

/// The uid and gid of the image's user (deploy/image/build.sh).
pub const IMAGE_UID: u32 = 10001;

#[derive(Args)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub cmd: DeployCmd,
}

#[derive(Subcommand)]
pub enum DeployCmd {
    /// Write certificates, keys, tokens and every party's config for a containerised virtual
    /// cloud, and the client's cloud file.
    Configs(ConfigsArgs),
}

#[derive(Args, Debug)]
pub struct ConfigsArgs {
    /// Output directory.
    #[arg(long, default_value = "deploy/compose/cloud")]
    pub out: PathBuf,
    /// Host name of each party, as the other parties reach it (comma-separated, party 0 first);
    /// the default are the names deploy/compose/docker-compose.yml gives them on its `mpc`
    /// network.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mpc-party0,mpc-party1,mpc-party2",
        value_name = "HOST,HOST,..."
    )]
    pub hosts: Vec<String>,
    /// The API port on every host.
    #[arg(long, default_value_t = 7100)]
    pub api_port: u16,
    /// The MPC gateway port on every host.
    #[arg(long, default_value_t = 7200)]
    pub mpc_port: u16,
    /// Where clients reach party i's API: https://127.0.0.1:(HOST_PORT+i), as Compose publishes.
    #[arg(long, default_value_t = 7100)]
    pub host_port: u16,
    /// The client's URL of each party instead (comma-separated, party 0 first), for example
    /// the addresses of Kubernetes Ingresses or LoadBalancers.
    #[arg(long, value_delimiter = ',', value_name = "URL,URL,...")]
    pub client_urls: Vec<String>,
    /// More names (DNS names or IP addresses) every party's API certificate is valid for.
    #[arg(long = "api-name", value_name = "NAME")]
    pub api_names: Vec<String>,
    /// The storage directory in each party's config (relative paths resolve against the
    /// party's config directory).
    #[arg(long, default_value = "/var/lib/ephemeral")]
    pub storage_path: String,
    /// The client's user name on every party.
    #[arg(long, default_value = "dev")]
    pub user: String,
    /// Receive and join deadlines of the nodes, in seconds (a silent peer fails a game after
    /// this long).
    #[arg(long, default_value_t = 30.0)]
    pub deadline_secs: f64,
    /// Hand every party's files to UID:GID (default: 10001:10001, the image's user, when run as
    /// root; nobody else can change a file's owner).
    #[arg(long, value_name = "UID:GID")]
    pub owner: Option<String>,
    /// Replace an existing output directory's keys, tokens and configs (storage is kept).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: DeployArgs) -> anyhow::Result<()> {
    match args.cmd {
        DeployCmd::Configs(a) => {
            let written = write_configs(&a)?;
            print_summary(&a, &written);
            Ok(())
        }
    }
}

/// What [`write_configs`] wrote.
#[derive(Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub cloud: PathBuf,
    pub owner: Option<(u32, u32)>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the arguments; the message names the option.
fn check(a: &ConfigsArgs) -> anyhow::Result<()> {
    let n = a.hosts.len();
    if !(2..=16).contains(&n) {
        bail!("--hosts: {n} given; a virtual cloud has 2 to 16 parties");
    }
    for (i, h) in a.hosts.iter().enumerate() {
        if h.is_empty() || h.contains(|c: char| c.is_whitespace() || c == ':' || c == '/') {
            bail!("--hosts: {h:?} (party {i}) is not a host name or IPv4 address");
        }
    }
    if !a.client_urls.is_empty() && a.client_urls.len() != n {
        bail!(
            "--client-urls: {} given for {n} parties; give one per party, party 0 first",
            a.client_urls.len()
        );
    }
    for u in &a.client_urls {
        if !u.starts_with("https://") {
            bail!("--client-urls: {u:?} is not an https:// URL (the API always serves HTTPS)");
        }
    }
    if a.client_urls.is_empty() && a.host_port as usize + n > u16::MAX as usize {
        bail!("--host-port {} leaves no room for {n} parties", a.host_port);
    }
    if a.api_port == 0 || a.mpc_port == 0 || a.api_port == a.mpc_port {
        bail!("--api-port and --mpc-port must be two different, non-zero ports");
    }
    if !(a.deadline_secs.is_finite() && a.deadline_secs >= 0.5 && a.deadline_secs <= 3600.0) {
        bail!("--deadline-secs must be between 0.5 and 3600");
    }
    if a.user.trim().is_empty() || a.user.contains(|c: char| c == '/' || c.is_control()) {
        bail!("--user: {:?} cannot be a user and file name", a.user);
    }
    if a.storage_path.trim().is_empty() || a.storage_path.contains(['"', '\\', '\n']) {
        bail!("--storage-path: {:?} is not a usable path", a.storage_path);
    }
    Ok(())
}

/// The host of an `https://host:port/...` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .or(Some(authority))
}

/// Parses `UID:GID`.
fn parse_owner(s: &str) -> anyhow::Result<(u32, u32)> {
    let (u, g) = s
        .split_once(':')
        .with_context(|| format!("--owner: {s:?} is not UID:GID"))?;
    Ok((
        u.parse()
            .with_context(|| format!("--owner: bad uid {u:?}"))?,
        g.parse()
            .with_context(|| format!("--owner: bad gid {g:?}"))?,
    ))
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

fn egid() -> u32 {
    // SAFETY: getegid cannot fail and touches no memory.
    unsafe { libc::getegid() }
}

/// A self-signed API certificate valid for `names`.
fn api_identity(party: usize, names: &[String]) -> anyhow::Result<(String, String)> {
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("building the API certificate's names")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("ephemeral party {party} API"),
    );
    let key = rcgen::KeyPair::generate().context("generating the API key")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the API certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    if private {
        // Created 0600 from the start: a key is never readable by others, even briefly.
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::remove_file(path);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("writing {}", path.display()))?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    } else {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// TOML's basic string.
fn q(s: &str) -> String {
    format!("{s:?}")
}

/// The config of party `me`.
fn party_toml(a: &ConfigsArgs, me: usize) -> String {
    let n = a.hosts.len();
    let d = a.deadline_secs;
    let mut s = format!(
        "# Party {me} of a virtual cloud of {n}, written by `ephemeral deploy configs`.\n\
         # Paths are relative to this file's directory (mounted at /etc/ephemeral in the image).\n\
         party = {me}\n\n\
         [api]\n\
         listen = \"0.0.0.0:{api}\"\n\
         tls_cert = \"api.pem\"\n\
         tls_key = \"api.key\"\n\n\
         [mpc]\n\
         listen = \"0.0.0.0:{mpc}\"\n\
         cert = \"peers/party{me}.pem\"\n\
         key = \"mpc.key\"\n\n\
         [storage]\n\
         path = {storage}\n\n\
         [[clients]]\n\
         user = {user}\n\
         admin = true\n\
         token_file = {token}\n\n\
         [timeouts]\n\
         join_secs = {d}\n\
         recv_secs = {d}\n\
         game_secs = 600\n\
         grace_secs = 300\n\n\
         [tuples]\n\
         # MASCOT (the secure default), with small pools so that a cloud starts within seconds;\n\
         # a game that needs more waits for its tuples. Raise them for production loads.\n\n",
        api = a.api_port,
        mpc = a.mpc_port,
        storage = q(&a.storage_path),
        user = q(&a.user),
        token = q(&format!("tokens/{}", a.user)),
    );
    for (kind, threshold, batch) in node::DEV_MASCOT_POOLS {
        s.push_str(&format!(
            "[tuples.pools.{kind}]\nthreshold = {threshold}\nbatch = {batch}\n\n"
        ));
    }
    for (i, host) in a.hosts.iter().enumerate() {
        s.push_str(&format!(
            "[[parties]]\nid = {i}\napi_url = \"https://{host}:{}\"\nmpc_addr = \"{host}:{}\"\ncert = \"peers/party{i}.pem\"\n\n",
            a.api_port, a.mpc_port
        ));
    }
    s
}

/// Writes every file; see the module docs.
pub fn write_configs(a: &ConfigsArgs) -> anyhow::Result<Written> {
    check(a)?;
    let n = a.hosts.len();
    let owner = match &a.owner {
        Some(s) => Some(parse_owner(s)?),
        None if euid() == 0 => Some((IMAGE_UID, IMAGE_UID)),
        None => None,
    };
    if a.out.join("cloud.toml").exists() && !a.force {
        bail!(
            "{} already holds a cloud (cloud.toml): use --force to replace its keys, tokens and configs (storage is kept), or choose another --out",
            a.out.display()
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let dir = a
        .out
        .canonicalize()
        .with_context(|| format!("resolving {}", a.out.display()))?;

    let client_urls: Vec<String> = if a.client_urls.is_empty() {
        (0..n)
            .map(|i| format!("https://127.0.0.1:{}", a.host_port as usize + i))
            .collect()
    } else {
        a.client_urls
            .iter()
            .map(|u| u.trim_end_matches('/').to_string())
            .collect()
    };
    // Every party's gateway identity first: each party's directory holds all the pins.
    let mut mpc = Vec::new();
    for i in 0..n {
        mpc.push(net::tls::dev_identity(i).context("generating a gateway key")?);
    }
    let mut tokens = Vec::new();
    for i in 0..n {
        let pdir = dir.join(format!("party{i}"));
        for sub in ["", "peers", "tokens"] {
            std::fs::create_dir_all(pdir.join(sub))
                .with_context(|| format!("creating {}", pdir.join(sub).display()))?;
        }
        for (j, id) in mpc.iter().enumerate() {
            write(
                &pdir.join(format!("peers/party{j}.pem")),
                &id.cert_pem,
                false,
            )?;
        }
        write(&pdir.join("mpc.key"), &mpc[i].key_pem, true)?;
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            a.hosts[i].clone(),
        ];
        if let Some(h) = url_host(&client_urls[i]) {
            names.push(h.to_string());
        }
        names.extend(a.api_names.iter().cloned());
        names.sort();
        names.dedup();
        let (cert, key) = api_identity(i, &names)?;
        write(&pdir.join("api.pem"), &cert, false)?;
        write(&pdir.join("api.key"), &key, true)?;
        let mut b = [0u8; 24];
        OsRng.fill_bytes(&mut b);
        // Each party issues its own token: one leaked token opens one party, not the cloud.
        let token = format!("tok-p{i}-{}", hex(&b));
        write(&pdir.join("tokens").join(&a.user), &token, true)?;
        tokens.push(token);
        write(&pdir.join("party.toml"), &party_toml(a, i), false)?;
        let data = dir.join("data").join(format!("party{i}"));
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        if let Some((uid, gid)) = owner {
            chown_tree(&pdir, uid, gid)?;
            chown_tree(&data, uid, gid)?;
        }
        // Checks what was written the way the node will read it.
        node::config::NodeConfig::load(&pdir.join("party.toml"))
            .with_context(|| format!("party {i}'s config does not load"))?;
    }

    let mut cloud = format!(
        "# The client's cloud file for {}, written by `ephemeral deploy configs`.\n\
         # It holds every party's token: keep it private.\ntimeout_secs = 600\n\n",
        dir.display()
    );
    for i in 0..n {
        cloud.push_str(&format!(
            "[[parties]]\nid = {i}\nurl = {}\ntoken = {}\nca_cert = {}\n\n",
            q(&client_urls[i]),
            q(&tokens[i]),
            q(&dir.join(format!("party{i}/api.pem")).display().to_string()),
        ));
    }
    let cloud_path = dir.join("cloud.toml");
    write(&cloud_path, &cloud, true)?;

    let (uid, gid) = owner.unwrap_or_else(|| (euid(), egid()));
    let mut env = format!(
        "# For deploy/compose/docker-compose.yml: docker-compose --env-file {}/compose.env ...\n\
         EPHEMERAL_CLOUD_DIR={}\nEPHEMERAL_USER={uid}:{gid}\n",
        dir.display(),
        dir.display()
    );
    for (i, url) in client_urls.iter().enumerate() {
        env.push_str(&format!(
            "EPHEMERAL_API_PORT{i}={}\n",
            url_port(url).unwrap_or(a.host_port as usize + i)
        ));
    }
    write(&dir.join("compose.env"), &env, false)?;
    Ok(Written {
        dir,
        cloud: cloud_path,
        owner,
    })
}

/// The port of an `https://host:port/...` URL.
fn url_port(url: &str) -> Option<usize> {
    let authority = url.strip_prefix("https://")?.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// Hands `path` and everything under it to `uid:gid`.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).with_context(|| {
        format!(
            "cannot hand {} to {uid}:{gid} (--owner needs root; leave it out to keep the files yours)",
            path.display()
        )
    })?;
    if path.is_dir() {
        for e in std::fs::read_dir(path)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn print_summary(a: &ConfigsArgs, w: &Written) {
    let n = a.hosts.len();
    println!(
        "Wrote a virtual cloud of {n} parties to {}:",
        w.dir.display()
    );
    for i in 0..n {
        println!(
            "  party{i}/   config, keys and token of party {i} (host {}; mount at /etc/ephemeral)",
            a.hosts[i]
        );
    }
    println!(
        "  data/      each party's storage   cloud.toml  the client's cloud file   compose.env  for Compose"
    );
    match w.owner {
        Some((u, g)) => println!("Files of each party belong to {u}:{g} (the containers' user)."),
        None => println!(
            "Files stay yours; compose.env runs the containers as your user ({}:{}).",
            euid(),
            egid()
        ),
    }
    println!("Start the cloud and use it:");
    println!(
        "  docker-compose --env-file {}/compose.env -f deploy/compose/docker-compose.yml up -d",
        w.dir.display()
    );
    println!("  export EPHEMERAL_CLOUD={}", w.cloud.display());
    println!("  ephemeral health");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> ConfigsArgs {
        ConfigsArgs {
            out: out.to_path_buf(),
            hosts: vec!["party0".into(), "party1".into(), "party2".into()],
            api_port: 7100,
            mpc_port: 7200,
            host_port: 17100,
            client_urls: vec![],
            api_names: vec!["ephemeral.example.org".into()],
            storage_path: "/var/lib/ephemeral".into(),
            user: "dev".into(),
            deadline_secs: 5.0,
            owner: None,
            force: false,
        }
    }

    #[test]
    fn writes_loadable_configs_private_keys_and_a_matching_cloud_file() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("cloud");
        let mut a = args(&out);
        // Root would hand the files to the image's user; keep them ours in the test.
        a.owner = Some(format!("{}:{}", euid(), egid()));
        let w = write_configs(&a).unwrap();
        use std::os::unix::fs::PermissionsExt;
        for i in 0..3 {
            let p = w.dir.join(format!("party{i}"));
            let cfg = node::config::NodeConfig::load(&p.join("party.toml")).unwrap();
            assert_eq!(cfg.party, i);
            assert_eq!(cfg.n_parties(), 3);
            assert_eq!(cfg.parties[2].mpc_addr, "party2:7200");
            assert_eq!(cfg.parties[1].api_url, "https://party1:7100");
            assert_eq!(cfg.storage.path, Path::new("/var/lib/ephemeral"));
            assert!(cfg.api.tls());
            assert!(!cfg.tuples.insecure_dealer);
            assert_eq!(cfg.timeouts.recv_secs, 5.0);
            // The token file is read and accepted as the node would.
            let tokens = node::auth::Tokens::from_config(&cfg).unwrap();
            let tok = std::fs::read_to_string(p.join("tokens/dev")).unwrap();
            assert_eq!(
                tokens
                    .authenticate(Some(&format!("Bearer {tok}")))
                    .unwrap()
                    .name,
                "dev"
            );
            for f in ["mpc.key", "api.key", "tokens/dev"] {
                let mode = std::fs::metadata(p.join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
            // The gateway key matches this party's pinned certificate.
            net::tls::PartyIdentity::from_pem(
                std::fs::read_to_string(p.join(format!("peers/party{i}.pem"))).unwrap(),
                std::fs::read_to_string(p.join("mpc.key")).unwrap(),
            )
            .unwrap();
            // The API certificate loads with its key as the node loads it.
            node::api_tls::server_config(&p.join("api.pem"), &p.join("api.key")).unwrap();
        }
        // Every party holds the same pins.
        let pins: Vec<String> = (0..3)
            .map(|i| {
                std::fs::read_to_string(w.dir.join(format!("party{i}/peers/party1.pem"))).unwrap()
            })
            .collect();
        assert!(pins.iter().all(|p| p == &pins[0]));
        let cloud = client::CloudConfig::load(&w.cloud).unwrap();
        assert_eq!(cloud.parties.len(), 3);
        assert_eq!(cloud.parties[2].url, "https://127.0.0.1:17102");
        let tok1 = std::fs::read_to_string(w.dir.join("party1/tokens/dev")).unwrap();
        assert_eq!(cloud.parties[1].token.as_deref(), Some(tok1.as_str()));
        assert_ne!(cloud.parties[0].token, cloud.parties[1].token);
        let env = std::fs::read_to_string(w.dir.join("compose.env")).unwrap();
        assert!(env.contains("EPHEMERAL_API_PORT2=17102"), "{env}");
        assert!(
            env.contains(&format!("EPHEMERAL_USER={}:{}", euid(), egid())),
            "{env}"
        );

        // A second run refuses to overwrite, unless forced (storage kept).
        std::fs::write(w.dir.join("data/party0/secrets.redb"), "x").unwrap();
        let e = write_configs(&a).unwrap_err().to_string();
        assert!(e.contains("--force"), "{e}");
        a.force = true;
        write_configs(&a).unwrap();
        assert!(w.dir.join("data/party0/secrets.redb").exists());
        let tok1_new = std::fs::read_to_string(w.dir.join("party1/tokens/dev")).unwrap();
        assert_ne!(tok1, tok1_new, "--force makes fresh tokens");
    }

    #[test]
    fn bad_arguments_name_the_option() {
        let tmp = tempfile::tempdir().unwrap();
        /// (a change to valid arguments, the error's start)
        type Case = (Box<dyn Fn(&mut ConfigsArgs)>, &'static str);
        let cases: Vec<Case> = vec![
            (Box::new(|a| a.hosts.truncate(1)), "--hosts: 1 given"),
            (Box::new(|a| a.hosts[1] = "a b".into()), "--hosts: \"a b\""),
            (Box::new(|a| a.hosts[1] = "a:1".into()), "--hosts"),
            (
                Box::new(|a| a.client_urls = vec!["https://x:1".into()]),
                "--client-urls: 1 given",
            ),
            (
                Box::new(|a| a.client_urls = vec!["http://a:1".into(); 3]),
                "--client-urls: \"http://a:1\" is not an https:// URL",
            ),
            (Box::new(|a| a.mpc_port = 7100), "--api-port and --mpc-port"),
            (Box::new(|a| a.deadline_secs = 0.0), "--deadline-secs"),
            (Box::new(|a| a.user = "a/b".into()), "--user"),
            (Box::new(|a| a.host_port = 65534), "--host-port"),
            (Box::new(|a| a.owner = Some("10001".into())), "--owner"),
        ];
        for (change, want) in cases {
            let mut a = args(&tmp.path().join("c"));
            change(&mut a);
            let e = write_configs(&a).unwrap_err().to_string();
            assert!(e.starts_with(want), "expected {want:?}, got {e:?}");
        }
        assert!(!tmp.path().join("c/cloud.toml").exists());
    }

    #[test]
    fn url_parts() {
        assert_eq!(url_host("https://a.example:8443/x"), Some("a.example"));
        assert_eq!(url_host("https://a.example"), Some("a.example"));
        assert_eq!(url_host("https://[::1]:7100"), Some("::1"));
        assert_eq!(url_port("https://a.example:8443/x"), Some(8443));
        assert_eq!(url_port("https://a.example"), None);
    }
}
