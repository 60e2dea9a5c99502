//! `ephemeral node --config party.toml`: run one party's node until Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct NodeArgs {
    /// The party's configuration file (see the `node::config` docs for every field).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}

pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let config = node::config::NodeConfig::load(&args.config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
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
