//! `checkout-server`: the reference merchant backend (see the library docs).

use std::net::SocketAddr;
use std::path::PathBuf;

use checkout_server::config::{
    Config, DEFAULT_SANDBOX_API_SECRET, DEFAULT_SANDBOX_BASE, DEFAULT_SANDBOX_CHANNEL_KEY, DEFAULT_SANDBOX_STORE_ID,
    DEFAULT_SANDBOX_WEBHOOK_SECRET,
};
use checkout_server::PortOneConfig;
use clap::Parser;

/// Reference merchant backend for portone-checkout.
///
/// Secrets come only from the environment: PORTONE_API_SECRET and
/// PORTONE_WEBHOOK_SECRET (comma-separated, at most two, for rotation).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Listen address.
    #[arg(long, env = "CHECKOUT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// SQLite database file (a `sqlite:` prefix is accepted).
    #[arg(long = "db", env = "DATABASE_URL", default_value = "./data/checkout.db")]
    db: String,
    /// Directory of the trunk-built demo to serve (SPA fallback to index.html).
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// PortOne REST API base (`https://api.portone.io` means live mode).
    #[arg(long, env = "PORTONE_API_BASE", default_value = DEFAULT_SANDBOX_BASE)]
    portone_api_base: String,
    /// PortOne store id.
    #[arg(long, env = "PORTONE_STORE_ID", default_value = DEFAULT_SANDBOX_STORE_ID)]
    store_id: String,
    /// PortOne channel key (TossPay).
    #[arg(long, env = "PORTONE_CHANNEL_KEY", default_value = DEFAULT_SANDBOX_CHANNEL_KEY)]
    channel_key: String,
    /// PG of the channel.
    #[arg(long, env = "PORTONE_CHANNEL_PG", default_value = "tosspay_v2")]
    channel_pg: String,
    /// Base URL browsers load the sandbox SDK from (sandbox mode), when it
    /// differs from the API base.
    #[arg(long, env = "SANDBOX_PUBLIC_URL")]
    sandbox_public_url: Option<String>,
    /// Extra CORS origins for /api (comma-separated); loopback origins are
    /// always allowed.
    #[arg(long, env = "CHECKOUT_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
}

fn secret_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    let mut portone = PortOneConfig::sandbox(args.portone_api_base.trim_end_matches('/'));
    let live = portone.mode() == checkout_server::Mode::Live;
    portone.store_id = args.store_id;
    portone.channel_key = args.channel_key;
    portone.channel_pg = args.channel_pg;
    match secret_env("PORTONE_API_SECRET") {
        Some(s) => portone.api_secret = s,
        None if live => anyhow::bail!("PORTONE_API_SECRET is required with the live PortOne API"),
        None => portone.api_secret = DEFAULT_SANDBOX_API_SECRET.into(),
    }
    match secret_env("PORTONE_WEBHOOK_SECRET") {
        Some(s) => {
            let secrets: Vec<String> = s
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            if secrets.len() > 2 {
                anyhow::bail!("PORTONE_WEBHOOK_SECRET holds at most two secrets");
            }
            portone.webhook_secrets = secrets;
        }
        None if live => {
            anyhow::bail!("PORTONE_WEBHOOK_SECRET is required with the live PortOne API")
        }
        None => portone.webhook_secrets = vec![DEFAULT_SANDBOX_WEBHOOK_SECRET.into()],
    }
    let db = args.db;
    // Accept `path`, `sqlite:path` and `sqlite://path?mode=rwc` forms.
    let without_scheme = db
        .strip_prefix("sqlite://")
        .or_else(|| db.strip_prefix("sqlite:"))
        .unwrap_or(&db);
    let database_path = PathBuf::from(without_scheme.split_once('?').map_or(without_scheme, |(path, _)| path));
    let config = Config {
        addr: args.addr,
        database_path,
        static_dir: args.static_dir,
        portone,
        sandbox_public_url: args.sandbox_public_url,
        cors_origins: args.cors_origins,
    };
    tracing::info!(?config, "starting");
    let server = checkout_server::serve(config).await?;
    println!("checkout-server listening on {}", server.base_url());
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}
