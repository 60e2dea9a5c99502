//! Starting and stopping a node: the gateway, the stores, the background tasks and the HTTP
//! server (HTTPS when `[api] tls_cert` and `tls_key` are set, see [`crate::api_tls`]).

use std::net::TcpListener;
use std::sync::Arc;

use crate::config::NodeConfig;
use crate::coord::Channels;
use crate::node::{RunningNode, StartError};
use crate::Node;

fn read(path: &std::path::Path, field: &str) -> Result<String, StartError> {
    std::fs::read_to_string(path).map_err(|e| {
        StartError::Config(crate::config::ConfigError {
            path: field.into(),
            message: format!("cannot read {}: {e}", path.display()),
        })
    })
}

impl Node {
    /// Starts the node of `config`, binding the addresses it names.
    pub async fn start(config: NodeConfig) -> Result<RunningNode, StartError> {
        let api = TcpListener::bind(config.api.listen).map_err(|e| {
            StartError::Api(format!(
                "cannot listen on {} (api.listen): {e}",
                config.api.listen
            ))
        })?;
        let mpc = TcpListener::bind(config.mpc.listen).map_err(|e| {
            StartError::Gateway(format!(
                "cannot listen on {} (mpc.listen): {e}",
                config.mpc.listen
            ))
        })?;
        Node::start_on(config, api, mpc).await
    }

    /// Starts the node on listeners bound by the caller (tests bind port 0).
    pub async fn start_on(
        config: NodeConfig,
        api: TcpListener,
        mpc: TcpListener,
    ) -> Result<RunningNode, StartError> {
        // First, so that a bad certificate fails before anything starts.
        let api_tls = match (&config.api.tls_cert, &config.api.tls_key) {
            (Some(cert), Some(key)) => Some(crate::api_tls::server_config(cert, key)?),
            _ => None,
        };
        let identity = net::tls::PartyIdentity::from_pem(
            read(&config.mpc.cert, "mpc.cert")?,
            read(&config.mpc.key, "mpc.key")?,
        )
        .map_err(|e| StartError::Gateway(format!("mpc.cert / mpc.key: {e}")))?;
        let mut parties = Vec::new();
        for (i, p) in config.parties.iter().enumerate() {
            parties.push(net::tls::PartyEndpoint {
                addr: p.mpc_addr.clone(),
                cert_pem: read(&p.cert, &format!("parties[{i}].cert"))?,
            });
        }
        let mut gcfg = net::GatewayConfig::new(config.party, parties, identity);
        gcfg.net.recv_deadline = config.timeouts.recv();
        gcfg.max_handshakes = config.limits.max_gateway_handshakes;
        mpc.set_nonblocking(true)
            .map_err(|e| StartError::Gateway(e.to_string()))?;
        let mpc_addr = mpc
            .local_addr()
            .map_err(|e| StartError::Gateway(e.to_string()))?;
        let gateway = net::Gateway::start(gcfg, Some(mpc))
            .await
            .map_err(|e| StartError::Gateway(e.to_string()))?;
        let channels: Arc<dyn Channels> = Arc::new(gateway.clone());
        let g = gateway.clone();
        let node = tokio::task::spawn_blocking(move || Node::assemble(config, Some(g), channels))
            .await
            .map_err(|e| StartError::Storage(format!("start-up task failed: {e}")))??;
        let node = Arc::new(node);
        let (shutdown, stop) = tokio::sync::watch::channel(false);
        tokio::spawn(node.clone().keep_pools(stop.clone()));
        if node.tuplegen.is_mascot() && node.me != 0 {
            tokio::spawn(node.clone().follow_jobs(stop.clone()));
        }
        // Party 0 answers what failures left undecided; the others ask it.
        if node.me == 0 {
            tokio::spawn(node.clone().serve_recovery(stop.clone()));
        } else {
            tokio::spawn(node.clone().recover_loop(stop.clone()));
        }
        api.set_nonblocking(true)
            .map_err(|e| StartError::Api(e.to_string()))?;
        let api_addr = api
            .local_addr()
            .map_err(|e| StartError::Api(e.to_string()))?;
        let listener =
            tokio::net::TcpListener::from_std(api).map_err(|e| StartError::Api(e.to_string()))?;
        let app = crate::http::router(node.clone());
        let (stop_http, me) = (stop.clone(), node.me);
        let server = match api_tls {
            Some(tls) => {
                let listener = crate::api_tls::TlsListener::new(listener, tls)
                    .map_err(|e| StartError::Api(e.to_string()))?;
                tokio::spawn(crate::http::serve(listener, app, me, stop_http))
            }
            None => {
                let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                tokio::spawn(crate::http::serve(listener, app, me, stop_http))
            }
        };
        log_api_transport(&node.config, api_addr);
        tracing::info!(
            party = node.me,
            parties = node.n,
            api = %api_url(&node.config, api_addr),
            mpc = %mpc_addr,
            generator = node.tuplegen.name(),
            "node started"
        );
        Ok(RunningNode {
            node,
            api_addr,
            mpc_addr,
            shutdown,
            server,
        })
    }
}

/// The API's base URL at `addr`: `https://` when TLS is configured.
fn api_url(config: &NodeConfig, addr: std::net::SocketAddr) -> String {
    let scheme = if config.api.tls() { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

/// Says how the API is served: HTTPS (info), plain HTTP on loopback (info), plain HTTP on any
/// other address (a loud warning: tokens and masked values cross the network in clear).
fn log_api_transport(config: &NodeConfig, addr: std::net::SocketAddr) {
    let me = config.party;
    if config.api.tls() {
        tracing::info!(party = me, api = %addr, "the API serves HTTPS (api.tls_cert, api.tls_key)");
        if let Some(p) = config.parties.get(me) {
            if p.api_url.trim_start().starts_with("http://") {
                tracing::warn!(
                    party = me,
                    "parties[{me}].api_url is {:?} but this party's API serves HTTPS; clients configured from it will fail; use https://",
                    p.api_url
                );
            }
        }
    } else if addr.ip().is_loopback() {
        tracing::info!(
            party = me,
            api = %addr,
            "the API serves plain HTTP on loopback; set [api] tls_cert and tls_key to serve HTTPS"
        );
    } else {
        tracing::warn!(
            party = me,
            api = %addr,
            "UNENCRYPTED API: the API listens on {addr}, a non-loopback address, over plain HTTP. Bearer tokens, uploaded masked values, results and shares delivered to clients travel unencrypted and can be read or altered on the network. Add tls_cert = \"<certificate PEM>\" and tls_key = \"<key PEM>\" to the [api] section of this party's config (and use https:// in api_url and in the clients' cloud files), or put a TLS-terminating proxy in front and listen on loopback."
        );
    }
}

impl RunningNode {
    /// The API's base URL, `https://` when `[api]` has TLS configured, else `http://`.
    pub fn api_url(&self) -> String {
        api_url(&self.node.config, self.api_addr)
    }

    /// Stops serving: the HTTP server drains, the gateway closes its connections.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(g) = &self.node.gateway {
            g.shutdown();
        }
    }

    /// Runs until the process gets Ctrl-C (or SIGTERM), then stops.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("stopping");
        self.stop_within(std::time::Duration::from_secs(5)).await;
    }

    /// Stops, giving in-flight requests at most `limit` to finish.
    pub async fn stop_within(self, limit: std::time::Duration) {
        let gateway = self.node.gateway.clone();
        if tokio::time::timeout(limit, self.stop()).await.is_err() {
            tracing::warn!("requests still running after {limit:?}; stopping anyway");
            if let Some(g) = gateway {
                g.shutdown();
            }
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = ctrl_c => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    }
}
