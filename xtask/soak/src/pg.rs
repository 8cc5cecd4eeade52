//! The run's own PostgreSQL database: created on the server `--postgres`
//! names, so a run never shares its tables with anything else, and dropped
//! after a passing run.

use anyhow::Context as _;
use sqlx::postgres::PgConnection;
use sqlx::Connection as _;

/// Creates the database `soak_<seed>_<pid>` on `server` (a `postgres://`
/// URL of any database there); answers its name and URL.
pub async fn create_database(server: &str, seed: u64) -> anyhow::Result<(String, String)> {
    let name = format!("soak_{seed}_{}", std::process::id());
    let mut conn = PgConnection::connect(server)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {server}"))?;
    // A name made of digits and underscores only: nothing to quote.
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating the database {name}"))?;
    conn.close().await?;
    let mut url = reqwest::Url::parse(server).context("--postgres must be a postgres:// URL")?;
    url.set_path(&format!("/{name}"));
    Ok((name, url.to_string()))
}

/// Drops the database `name` on `server` (after the backends stopped).
pub async fn drop_database(server: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(server).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}
