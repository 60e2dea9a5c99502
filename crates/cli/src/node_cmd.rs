//! `ephemeral node --config party.toml`: run one party's node until Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use store::TupleStore;

#[derive(Args)]
pub struct NodeArgs {
    /// The party's configuration file (see the `node::config` docs for every field).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Maintenance on the party's storage instead of running the node (stop the node first).
    #[command(subcommand)]
    pub cmd: Option<NodeCmd>,
}

#[derive(Subcommand)]
pub enum NodeCmd {
    /// After the peers refused a party because its tuple store went back in time (restored from
    /// a backup or a copy): discard every tuple of this party's store, so that none can be used
    /// twice, and move its epoch past the one the peers named. Run it on every party (the
    /// restored one with the epoch the error names, the others with 0), so that the stores
    /// agree again. Secrets are kept.
    DiscardTuples {
        /// The epoch the peers' error names (`--epoch-at-least N`).
        #[arg(long, value_name = "N")]
        epoch_at_least: u64,
    },
}

pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let config = node::config::NodeConfig::load(&args.config)?;
    if let Some(NodeCmd::DiscardTuples { epoch_at_least }) = args.cmd {
        let path = config.storage.path.join("tuples.redb");
        let store = store::RedbTupleStore::open(&path, config.party)
            .with_context(|| format!("opening the tuple store {}", path.display()))?;
        let epoch = store.discard_all_tuples(epoch_at_least)?;
        eprintln!(
            "every tuple of {} was discarded; the store's epoch is now {}. Start the node again: its peers accept it, and new tuples are generated",
            path.display(),
            epoch.counter
        );
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(config.limits.blocking_threads())
        .thread_name("node")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let running = node::Node::start(config).await?;
        eprintln!(
            "party {} of {} is up: API {}  MPC {}  tuples: {}",
            running.node.me,
            running.node.n,
            running.api_url(),
            running.mpc_addr,
            running.node.tuplegen.name()
        );
        running.run_until_signal().await;
        Ok::<_, anyhow::Error>(())
    })
}
