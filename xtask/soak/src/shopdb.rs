//! The shop's side, read straight from the backend's database (its SQLite
//! file or its PostgreSQL database; read-only queries but the initial
//! stock): orders, fulfilments, stock, subscriptions and charge keys. The
//! invariants compare this with the sandbox's ledger.
//!
//! Reads the tables `checkout-server`'s schema defines (`server/src/db.rs`):
//! if they are renamed, this is the one place to follow.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr as _;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::Row as _;

/// The backend's database.
pub enum Db {
    /// Its SQLite file.
    Sqlite(SqlitePool),
    /// Its PostgreSQL database.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds: the
/// queries are the same text on both (`$1` placeholders).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// One order as the shop stores it.
#[derive(Clone, Debug)]
pub struct Order {
    /// The payment id (V1's `merchant_uid`, Toss's `orderId`).
    pub payment_id: String,
    /// `portone_v2`, `portone_v1` or `toss`.
    pub provider: String,
    /// `PENDING`, `PAID`, ...
    pub status: String,
    /// The amount.
    pub total_amount: i64,
    /// The subscription of a charge.
    pub subscription_id: Option<String>,
    /// `TO_SCHEDULE`/`SCHEDULED` for a subscription's next charge.
    pub schedule_state: Option<String>,
}

/// One subscription.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// The billing key (V1: the `customer_uid`).
    pub billing_key: String,
    /// `ACTIVE`, `PAST_DUE`, `DELETED`, ...
    pub status: String,
    /// The provider.
    pub provider: String,
}

/// Everything the invariants read from the shop.
#[derive(Clone, Debug, Default)]
pub struct Shop {
    /// Orders by payment id.
    pub orders: BTreeMap<String, Order>,
    /// Fulfilment records per payment id.
    pub fulfilments: HashMap<String, i64>,
    /// Quantity per product over fulfilled orders.
    pub fulfilled_qty: BTreeMap<String, i64>,
    /// Quantity per product held by issued virtual accounts (not yet
    /// deposited, so not fulfilled).
    pub held_qty: BTreeMap<String, i64>,
    /// Current stock per product.
    pub stock: BTreeMap<String, i64>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// Charge idempotency keys: `(subscription, key) -> payment id`.
    pub charge_keys: BTreeMap<(String, String), String>,
}

/// Connects to the backend's database: a `postgres://` URL, else the path
/// of its SQLite file.
pub async fn open(database: &str) -> anyhow::Result<Db> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return Ok(Db::Postgres(
            PgPoolOptions::new().max_connections(2).connect(database).await?,
        ));
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(database)
        .busy_timeout(std::time::Duration::from_secs(30));
    Ok(Db::Sqlite(
        SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?,
    ))
}

/// Sets the stock of each product (before customers arrive).
pub async fn set_stock(db: &Db, stock: &[(String, i64)]) -> anyhow::Result<()> {
    for (id, n) in stock {
        on_pool!(db, pool => sqlx::query("UPDATE products SET stock = $1 WHERE id = $2")
            .bind(n)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())?);
    }
    Ok(())
}

/// Reads the shop.
pub async fn read(db: &Db) -> anyhow::Result<Shop> {
    on_pool!(db, pool => {
    let mut shop = Shop::default();
    for r in
        sqlx::query("SELECT payment_id, provider, status, total_amount, subscription_id, schedule_state FROM orders")
            .fetch_all(pool)
            .await?
    {
        let o = Order {
            payment_id: r.try_get("payment_id")?,
            provider: r.try_get("provider")?,
            status: r.try_get("status")?,
            total_amount: r.try_get("total_amount")?,
            subscription_id: r.try_get("subscription_id")?,
            schedule_state: r.try_get("schedule_state")?,
        };
        shop.orders.insert(o.payment_id.clone(), o);
    }
    for r in sqlx::query("SELECT payment_id, COUNT(*) AS n FROM fulfilments GROUP BY payment_id")
        .fetch_all(pool)
        .await?
    {
        shop.fulfilments.insert(r.try_get("payment_id")?, r.try_get("n")?);
    }
    for r in sqlx::query(
        "SELECT i.product_id, CAST(SUM(i.quantity) AS BIGINT) AS q FROM order_items i \
         JOIN fulfilments f ON f.payment_id = i.payment_id GROUP BY i.product_id",
    )
    .fetch_all(pool)
    .await?
    {
        shop.fulfilled_qty.insert(r.try_get("product_id")?, r.try_get("q")?);
    }
    for r in sqlx::query(
        "SELECT i.product_id, CAST(SUM(i.quantity) AS BIGINT) AS q FROM order_items i \
         JOIN orders o ON o.payment_id = i.payment_id \
         WHERE o.stock_held = 1 AND o.fulfilled_at IS NULL GROUP BY i.product_id",
    )
    .fetch_all(pool)
    .await?
    {
        shop.held_qty.insert(r.try_get("product_id")?, r.try_get("q")?);
    }
    for r in sqlx::query("SELECT id, stock FROM products").fetch_all(pool).await? {
        shop.stock.insert(r.try_get("id")?, r.try_get("stock")?);
    }
    for r in sqlx::query("SELECT subscription_id, billing_key, status, provider FROM subscriptions")
        .fetch_all(pool)
        .await?
    {
        shop.subscriptions.push(Subscription {
            id: r.try_get("subscription_id")?,
            billing_key: r.try_get("billing_key")?,
            status: r.try_get("status")?,
            provider: r.try_get("provider")?,
        });
    }
    for r in sqlx::query("SELECT subscription_id, idempotency_key, payment_id FROM charge_requests")
        .fetch_all(pool)
        .await?
    {
        shop.charge_keys.insert(
            (r.try_get("subscription_id")?, r.try_get("idempotency_key")?),
            r.try_get("payment_id")?,
        );
    }
    Ok(shop)
    })
}
