//! The database: SQLite or PostgreSQL, chosen at start ([`Database`]),
//! with its versioned schema (`db/schema.rs`), the seed catalogue and the
//! queries the handlers, the sync and the reconciler use.
//!
//! Orders and every state transition are written in transactions before a
//! response is sent, so a restart (even a kill) loses nothing. Nothing here
//! rests on a lock inside one process: several server processes (replicas)
//! may share one database. Fulfilment is claimed by a conditional
//! `UPDATE ... WHERE fulfilled_at IS NULL` inside a transaction (PostgreSQL
//! holds the row, SQLite its single writer, until commit), stock is taken by
//! `UPDATE ... WHERE stock >= n`, webhook ids and charge idempotency keys
//! are unique keys inserted `ON CONFLICT DO NOTHING`, and the reconciler
//! leases each order it syncs ([`Db::claim_sync`]).
//!
//! One set of queries serves both backends where the dialects agree
//! (numbered `$1` placeholders, `ON CONFLICT`, `IS NOT DISTINCT FROM`); what
//! differs (transaction start, row locks, migrations) is explicit per
//! backend.

mod schema;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use portone_checkout::protocol::{OrderStatus, PaymentId, PaymentStatus, PgFailure};

pub use crate::config::{Database, PostgresUrl};
use crate::provider::ProviderKind;
use crate::shop_api::Product;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// The server decided to cancel a paid payment (tampering or net cancel)
/// and PortOne has not confirmed the cancel yet ([`OrderStatus::Cancelling`]).
pub const STATUS_CANCELLING: &str = "CANCELLING";
/// Statuses no sync changes any more (except a late payment of an expired
/// order, which is still fulfilled or cancelled).
pub const FINAL: &[&str] = &["PAID", "CANCELLED", "EXPIRED"];
/// Statuses a verified, paid payment may claim for fulfilment.
pub const PAYABLE: &[&str] = &["PENDING", "FAILED", "VIRTUAL_ACCOUNT_ISSUED", "EXPIRED"];
/// A scheduled charge whose order is written but whose schedule call has
/// not been confirmed by PortOne yet.
pub const TO_SCHEDULE: &str = "TO_SCHEDULE";
/// A scheduled charge PortOne confirmed.
pub const SCHEDULED: &str = "SCHEDULED";

/// The seed catalogue: `(id, name, price, stock)` in KRW. `beans-1kg` has a
/// stock of one, so a second order of it is paid but cannot be fulfilled
/// (the net-cancel path).
pub const SEED_PRODUCTS: &[(&str, &str, i64, i64)] = &[
    ("americano", "아메리카노", 4500, 1000),
    ("cafe-latte", "카페라떼", 5000, 1000),
    ("croissant", "크루아상", 3800, 1000),
    ("beans-1kg", "원두 1kg", 32000, 1),
];

/// Current time as RFC 3339 (UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Current time in unix seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Payment id (primary key).
    pub payment_id: String,
    /// `checkout` or `charge` (billing-key charge).
    pub kind: String,
    /// Order name.
    pub order_name: String,
    /// Amount the server computed.
    pub total_amount: i64,
    /// Currency.
    pub currency: String,
    /// Owner.
    pub customer_id: String,
    /// For charges: the subscription.
    pub subscription_id: Option<String>,
    /// `PENDING`, `PAID`, `VIRTUAL_ACCOUNT_ISSUED`, `FAILED`, `CANCELLED`
    /// or [`STATUS_CANCELLING`].
    pub status: String,
    /// When paid.
    pub paid_at: Option<String>,
    /// Last failure code.
    pub failure_code: Option<String>,
    /// Last failure PG code.
    pub failure_pg_code: Option<String>,
    /// Last failure message.
    pub failure_message: Option<String>,
    /// Reason / note (e.g. cancel reason).
    pub message: Option<String>,
    /// When fulfilled (set exactly once).
    pub fulfilled_at: Option<String>,
    /// PortOne schedule id, for scheduled charges.
    pub schedule_id: Option<String>,
    /// When the order was created (RFC 3339).
    pub created_at: String,
    /// When a sync last read it at PortOne, or claimed it (unix seconds).
    pub synced_at: Option<i64>,
    /// Scheduled charges: when PortOne charges it (unix seconds).
    pub due_at: Option<i64>,
    /// Scheduled charges: [`TO_SCHEDULE`] or [`SCHEDULED`].
    pub schedule_state: Option<String>,
    /// The provider the order is paid with.
    pub provider: ProviderKind,
}

impl Order {
    /// Whether no sync changes it any more ([`FINAL`]).
    pub fn is_final(&self) -> bool {
        FINAL.contains(&self.status.as_str())
    }

    /// When the order became payable: its due time for a scheduled charge,
    /// else its creation (unix seconds).
    pub fn payable_since(&self) -> i64 {
        let created = chrono::DateTime::parse_from_rfc3339(&self.created_at)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        self.due_at.map_or(created, |due| due.max(created))
    }

    /// The contract view of this order; `verified` says whether it was just
    /// confirmed with PortOne (final states always are).
    pub fn to_status(&self, verified: bool) -> PaymentStatus {
        let status = OrderStatus::parse(&self.status).unwrap_or(OrderStatus::Pending);
        let failure = match (status, &self.failure_message) {
            (OrderStatus::Failed, Some(message)) => Some(PgFailure {
                code: self.failure_code.clone(),
                pg_code: self.failure_pg_code.clone(),
                message: Some(message.clone()),
                pg_message: None,
            }),
            _ => None,
        };
        PaymentStatus {
            // Ids are checked where they enter; one that is not a valid id
            // cannot have been stored by this server.
            payment_id: PaymentId::parse(&self.payment_id).unwrap_or_else(|_| invalid_stored_id()),
            status,
            order_name: self.order_name.clone(),
            total_amount: self.total_amount,
            currency: self.currency.clone(),
            paid_at: self.paid_at.clone(),
            failure,
            message: self.message.clone(),
            verified: verified || status.is_final(),
        }
    }
}

#[cold]
fn invalid_stored_id() -> PaymentId {
    tracing::error!("an order with an invalid payment id was stored");
    // A valid id that no order has.
    PaymentId::parse("invalid-stored-id").unwrap_or_else(|_| unreachable!("a literal valid id"))
}

/// A stored subscription (billing key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// Id.
    pub subscription_id: String,
    /// Billing key.
    pub billing_key: String,
    /// Owner.
    pub customer_id: String,
    /// `ACTIVE` or `DELETED`.
    pub status: String,
    /// Issue id, when known.
    pub issue_id: Option<String>,
    /// The provider holding the billing key.
    pub provider: ProviderKind,
}

/// A new order to insert.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Payment id.
    pub payment_id: &'a str,
    /// `checkout` or `charge`.
    pub kind: &'a str,
    /// Order name.
    pub order_name: &'a str,
    /// Amount.
    pub total_amount: i64,
    /// Currency.
    pub currency: &'a str,
    /// Owner.
    pub customer_id: &'a str,
    /// Subscription, for charges.
    pub subscription_id: Option<&'a str>,
    /// Lines `(product_id, quantity, unit_price)`.
    pub items: &'a [(String, u32, i64)],
    /// Scheduled charges: when PortOne is to charge it (unix seconds).
    pub due_at: Option<i64>,
    /// Scheduled charges: [`TO_SCHEDULE`].
    pub schedule_state: Option<&'a str>,
    /// The provider the order is paid with.
    pub provider: ProviderKind,
}

/// What a fulfilment attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfilOutcome {
    /// This call marked the order paid and fulfilled it.
    Fulfilled,
    /// It was already fulfilled (or decided otherwise) by someone else.
    AlreadyDone,
    /// Stock ran out: the order is now [`STATUS_CANCELLING`] and this call
    /// must cancel the payment (net cancel).
    OutOfStock,
}

/// Connections one replica keeps to PostgreSQL (a server's default
/// `max_connections` of 100 leaves room for several replicas).
const POSTGRES_POOL: u32 = 10;

/// Which database a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file: the embedded default for the demo and one machine.
    Sqlite,
    /// PostgreSQL: one database shared by several replicas.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database handle: SQLite or PostgreSQL, chosen at start
/// ([`Database`]). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool. The body is
/// compiled once per backend, so the same query text serves both where the
/// dialects agree (`$1` placeholders: SQLite takes them too), and
/// [`Dialect`] supplies what differs.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// What differs between the backends, as methods on their pools.
trait Dialect {
    /// The sqlx driver.
    type Driver: sqlx::Database;
    /// Starts a transaction that will write. SQLite takes its write lock at
    /// once (`BEGIN IMMEDIATE`, waiting up to the busy timeout), so
    /// concurrent writers queue instead of failing on a read-then-write
    /// upgrade; PostgreSQL locks rows as they are written.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Driver>, sqlx::Error>> + Send;
    /// Ends a `SELECT` that takes row locks until commit, skipping rows
    /// another transaction holds (PostgreSQL). SQLite has one writer at a
    /// time, so it needs none.
    fn skip_locked(&self) -> &'static str;
    /// Ends a `SELECT` that takes row locks until commit, waiting for them.
    fn for_update(&self) -> &'static str;
}

impl Dialect for SqlitePool {
    type Driver = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
    fn skip_locked(&self) -> &'static str {
        ""
    }
    fn for_update(&self) -> &'static str {
        ""
    }
}

impl Dialect for PgPool {
    type Driver = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
    fn skip_locked(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }
    fn for_update(&self) -> &'static str {
        " FOR UPDATE"
    }
}

/// `$from, $from+1, ...`: `n` numbered placeholders.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn order_from_row<R>(row: &R) -> Result<Order, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Order {
        payment_id: row.try_get("payment_id")?,
        kind: row.try_get("kind")?,
        order_name: row.try_get("order_name")?,
        total_amount: row.try_get("total_amount")?,
        currency: row.try_get("currency")?,
        customer_id: row.try_get("customer_id")?,
        subscription_id: row.try_get("subscription_id")?,
        status: row.try_get("status")?,
        paid_at: row.try_get("paid_at")?,
        failure_code: row.try_get("failure_code")?,
        failure_pg_code: row.try_get("failure_pg_code")?,
        failure_message: row.try_get("failure_message")?,
        message: row.try_get("message")?,
        fulfilled_at: row.try_get("fulfilled_at")?,
        schedule_id: row.try_get("schedule_id")?,
        created_at: row.try_get("created_at")?,
        synced_at: row.try_get("synced_at")?,
        due_at: row.try_get("due_at")?,
        schedule_state: row.try_get("schedule_state")?,
        provider: provider_from_row(row)?,
    })
}

fn provider_from_row<R>(row: &R) -> Result<ProviderKind, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let name: String = row.try_get("provider")?;
    ProviderKind::parse(&name)
        .ok_or_else(|| sqlx::Error::Decode(format!("provider {name:?} is not one this server speaks").into()))
}

fn subscription_from_row<R>(row: &R) -> Result<SubscriptionRow, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SubscriptionRow {
        subscription_id: row.try_get("subscription_id")?,
        billing_key: row.try_get("billing_key")?,
        customer_id: row.try_get("customer_id")?,
        status: row.try_get("status")?,
        issue_id: row.try_get("issue_id")?,
        provider: provider_from_row(row)?,
    })
}

/// Inserts a `PENDING` order and its lines in the transaction `$tx`.
macro_rules! insert_order_in {
    ($tx:expr, $order:expr) => {{
        let order: &NewOrder<'_> = $order;
        let now = now();
        sqlx::query(
            "INSERT INTO orders (payment_id, kind, order_name, total_amount, currency, customer_id, \
             subscription_id, status, created_at, updated_at, due_at, schedule_state, provider) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', $8, $8, $9, $10, $11)",
        )
        .bind(order.payment_id)
        .bind(order.kind)
        .bind(order.order_name)
        .bind(order.total_amount)
        .bind(order.currency)
        .bind(order.customer_id)
        .bind(order.subscription_id)
        .bind(&now)
        .bind(order.due_at)
        .bind(order.schedule_state)
        .bind(order.provider.as_str())
        .execute(&mut *$tx)
        .await?;
        for (product_id, quantity, unit_price) in order.items {
            sqlx::query(
                "INSERT INTO order_items (payment_id, product_id, quantity, unit_price) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(order.payment_id)
            .bind(product_id)
            .bind(i64::from(*quantity))
            .bind(unit_price)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Takes the stock of every line of the order `$payment_id` in the
/// transaction `$tx`, each only if enough is left, lines in product order
/// (so two orders never wait on each other's rows). Evaluates to
/// `Some(product)` naming the first product that is short (the caller rolls
/// the transaction back), else `None`.
macro_rules! take_stock {
    ($tx:expr, $payment_id:expr) => {{
        let items: Vec<(String, i64)> =
            sqlx::query_as("SELECT product_id, quantity FROM order_items WHERE payment_id = $1 ORDER BY product_id")
                .bind($payment_id)
                .fetch_all(&mut *$tx)
                .await?;
        let mut short = None;
        for (product_id, quantity) in items {
            let taken = sqlx::query("UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
                .bind(quantity)
                .bind(&product_id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            if taken != 1 {
                short = Some(product_id);
                break;
            }
        }
        short
    }};
}

/// Applies the migrations above `version` in the transaction `$tx`, each
/// as `$text` words it for the backend; `$record` records each one.
macro_rules! apply_migrations {
    ($tx:expr, $version:expr, |$v:ident, $sql:ident| $text:expr, |$rv:ident| $record:expr) => {{
        for &($v, $sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > $version) {
            let text = $text;
            sqlx::raw_sql(&text).execute(&mut *$tx).await?;
            let $rv = $v;
            $record;
            tracing::info!(version = $v, "database migrated");
        }
    }};
}

impl Db {
    /// Opens `database`, migrates it to the current schema and seeds the
    /// catalogue. An SQLite file is created (with its parent directory) if
    /// missing; a PostgreSQL database must exist.
    ///
    /// Replicas may start at once: SQLite migrates under its write lock,
    /// PostgreSQL under an advisory lock, in one transaction each.
    pub async fn connect(database: &Database) -> Result<Db, sqlx::Error> {
        let db = match database {
            Database::Sqlite(path) => Db::open_sqlite(path).await?,
            Database::Postgres(url) => Db::open_postgres(url).await?,
        };
        db.migrate().await?;
        db.seed().await?;
        Ok(db)
    }

    /// Opens (creating file and parent directory if needed), migrates and
    /// seeds the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Db, sqlx::Error> {
        Db::connect(&Database::Sqlite(path.to_path_buf())).await
    }

    async fn open_sqlite(path: &Path) -> Result<Db, sqlx::Error> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Db {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn open_postgres(url: &PostgresUrl) -> Result<Db, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_POOL)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(url.options().clone())
            .await?;
        Ok(Db {
            pool: Pool::Postgres(pool),
        })
    }

    /// The backend this handle runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_scalar("PRAGMA user_version").fetch_one(pool).await,
            Pool::Postgres(pool) => {
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                    .fetch_one(pool)
                    .await
            }
        }
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // BEGIN IMMEDIATE: processes starting at once migrate one at a time.
                let mut tx = pool.begin_write().await?;
                let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await?;
                apply_migrations!(tx, version, |v, sql| sql, |v| {
                    // PRAGMA takes no bound parameter; `v` is a constant.
                    sqlx::raw_sql(&format!("PRAGMA user_version = {v}"))
                        .execute(&mut *tx)
                        .await?
                });
                tx.commit().await
            }
            Pool::Postgres(pool) => {
                // DDL is transactional in PostgreSQL: the whole migration
                // commits or none of it, under a lock replicas share.
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(schema::POSTGRES_MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql(
                    "CREATE TABLE IF NOT EXISTS schema_migrations \
                     (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
                )
                .execute(&mut *tx)
                .await?;
                let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                    .fetch_one(&mut *tx)
                    .await?;
                apply_migrations!(tx, version, |v, sql| schema::for_postgres(sql), |v| {
                    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                        .bind(v)
                        .bind(now())
                        .execute(&mut *tx)
                        .await?
                });
                tx.commit().await
            }
        }
    }

    async fn seed(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (position, (id, name, price, stock)) in SEED_PRODUCTS.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO products (id, name, price, currency, stock, position) \
                     VALUES ($1, $2, $3, 'KRW', $4, $5) ON CONFLICT (id) DO NOTHING",
                )
                .bind(id)
                .bind(name)
                .bind(price)
                .bind(stock)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
    }

    /// The catalogue in display order.
    pub async fn products(&self) -> Result<Vec<Product>, sqlx::Error> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, name, price, currency FROM products ORDER BY position")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Product {
                        id: r.try_get("id")?,
                        name: r.try_get("name")?,
                        price: r.try_get("price")?,
                        currency: r.try_get("currency")?,
                    })
                })
                .collect()
        })
    }

    /// Units in stock of a product.
    pub async fn stock(&self, product_id: &str) -> Result<Option<i64>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
                .bind(product_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// Sets a product's stock (for operators and tests).
    pub async fn set_stock(&self, product_id: &str, stock: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE products SET stock = $1 WHERE id = $2")
                .bind(stock)
                .bind(product_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Sets when a scheduled charge is due (unix seconds; for operators and
    /// tests).
    pub async fn set_due_at(&self, payment_id: &str, due_at: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE orders SET due_at = $1 WHERE payment_id = $2")
                .bind(due_at)
                .bind(payment_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Inserts a new `PENDING` order with its lines.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            insert_order_in!(tx, order);
            tx.commit().await
        })
    }

    /// Deletes a `PENDING` order that was never handed out (pre-register
    /// failed).
    pub async fn delete_pending_order(&self, payment_id: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Lines go only with a still-pending order: one paid meanwhile
            // keeps the lines its fulfilment takes stock for.
            sqlx::query(
                "DELETE FROM order_items WHERE payment_id = $1 \
                 AND EXISTS (SELECT 1 FROM orders WHERE payment_id = $1 AND status = 'PENDING')",
            )
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM orders WHERE payment_id = $1 AND status = 'PENDING'")
                .bind(payment_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    }

    /// Loads an order.
    pub async fn order(&self, payment_id: &str) -> Result<Option<Order>, sqlx::Error> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM orders WHERE payment_id = $1")
                .bind(payment_id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(order_from_row).transpose()
        })
    }

    /// How many fulfilment records exist for a payment (0 or 1).
    pub async fn fulfilment_count(&self, payment_id: &str) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM fulfilments WHERE payment_id = $1")
                .bind(payment_id)
                .fetch_one(pool)
                .await
        })
    }

    /// Moves an order to `status` (with optional failure / message) only if
    /// its current status is one of `from`. Returns whether it changed.
    pub async fn transition(
        &self,
        payment_id: &str,
        from: &[&str],
        status: &str,
        failure: Option<&PgFailure>,
        message: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE orders SET status = $1, failure_code = $2, failure_pg_code = $3, failure_message = $4, \
             message = COALESCE($5, message), updated_at = $6 \
             WHERE payment_id = $7 AND status IN ({})",
            placeholders(8, from.len())
        );
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql)
                .bind(status)
                .bind(failure.and_then(|f| f.code.clone()))
                .bind(failure.and_then(|f| f.pg_code.clone()))
                .bind(failure.and_then(|f| f.message.clone()))
                .bind(message)
                .bind(now())
                .bind(payment_id);
            for s in from {
                q = q.bind(*s);
            }
            Ok(q.execute(pool).await?.rows_affected() == 1)
        })
    }

    /// Claims the fulfilment of a verified, paid order: in one transaction,
    /// a conditional update marks it `PAID` (only if not yet fulfilled nor
    /// decided otherwise), takes the stock and writes the fulfilment record.
    /// If stock is short, the order becomes [`STATUS_CANCELLING`] instead.
    ///
    /// Exactly one caller wins, in one process or across replicas: the
    /// conditional update holds the order's row (PostgreSQL) or the write
    /// lock (SQLite) until commit, and a second claim sees it fulfilled.
    /// Stock is taken by a conditional `UPDATE ... WHERE stock >= n`, lines
    /// in product order (so two orders never wait on each other's rows).
    ///
    /// `next_charge` (for a subscription's charge) is written in the same
    /// transaction, as a [`TO_SCHEDULE`] order, if the subscription is still
    /// `ACTIVE` and has no pending scheduled charge: the claim happens once,
    /// so the next charge is written once, before PortOne is asked to
    /// schedule it.
    pub async fn fulfil(
        &self,
        payment_id: &str,
        paid_at: Option<&str>,
        next_charge: Option<&NewOrder<'_>>,
    ) -> Result<FulfilOutcome, sqlx::Error> {
        let now = now();
        let short = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE orders SET status = 'PAID', paid_at = $1, fulfilled_at = $2, \
                 failure_code = NULL, failure_pg_code = NULL, failure_message = NULL, updated_at = $2 \
                 WHERE payment_id = $3 AND fulfilled_at IS NULL \
                 AND status IN ('PENDING', 'FAILED', 'VIRTUAL_ACCOUNT_ISSUED', 'EXPIRED')",
            )
            .bind(paid_at)
            .bind(&now)
            .bind(payment_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                tx.rollback().await?;
                return Ok(FulfilOutcome::AlreadyDone);
            }
            // An issued virtual account already holds the order's stock.
            let held: i64 = sqlx::query_scalar("SELECT stock_held FROM orders WHERE payment_id = $1")
                .bind(payment_id)
                .fetch_one(&mut *tx)
                .await?;
            let short = if held == 0 { take_stock!(tx, payment_id) } else { None };
            match short {
                Some(product_id) => {
                    tx.rollback().await?;
                    Some(product_id)
                }
                None => {
                    sqlx::query("INSERT INTO fulfilments (payment_id, fulfilled_at) VALUES ($1, $2)")
                        .bind(payment_id)
                        .bind(&now)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(next) = next_charge {
                        let subscription = next.subscription_id.unwrap_or_default();
                        // Lock the subscription, then look for its pending
                        // charge in a statement of its own: two charges of one
                        // subscription fulfilled at once write one next charge.
                        let active: Option<String> = sqlx::query_scalar(&format!(
                            "SELECT subscription_id FROM subscriptions \
                             WHERE subscription_id = $1 AND status = 'ACTIVE'{}",
                            pool.for_update()
                        ))
                        .bind(subscription)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let pending: Option<String> = sqlx::query_scalar(
                            "SELECT payment_id FROM orders WHERE subscription_id = $1 \
                             AND schedule_state IS NOT NULL AND status = 'PENDING'",
                        )
                        .bind(subscription)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if active.is_some() && pending.is_none() {
                            insert_order_in!(tx, next);
                        }
                    }
                    tx.commit().await?;
                    None
                }
            }
        });
        let Some(product_id) = short else {
            return Ok(FulfilOutcome::Fulfilled);
        };
        let reason = format!(
            "net cancel: the order was paid but could not be fulfilled \
             (product {product_id} is out of stock)"
        );
        self.out_of_stock(payment_id, PAYABLE, &reason).await
    }

    /// An issued virtual account: in one transaction, the order becomes
    /// `VIRTUAL_ACCOUNT_ISSUED` (from `PENDING` or `FAILED`) and takes its
    /// stock, held until the deposit ([`Db::fulfil`] then takes none) or the
    /// account's end ([`Db::release_hold`]). If stock is short, the order
    /// becomes [`STATUS_CANCELLING`] instead and the caller cancels the
    /// waiting account (which, unlike a deposited one, needs no refund
    /// account). Conditional, so one caller wins.
    pub async fn hold_for_deposit(&self, payment_id: &str) -> Result<FulfilOutcome, sqlx::Error> {
        let short = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE orders SET status = 'VIRTUAL_ACCOUNT_ISSUED', stock_held = 1, failure_code = NULL, \
                 failure_pg_code = NULL, failure_message = NULL, updated_at = $1 \
                 WHERE payment_id = $2 AND stock_held = 0 AND fulfilled_at IS NULL AND status IN ('PENDING', 'FAILED')",
            )
            .bind(now())
            .bind(payment_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                tx.rollback().await?;
                return Ok(FulfilOutcome::AlreadyDone);
            }
            let short = take_stock!(tx, payment_id);
            if short.is_some() {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
            }
            short
        });
        let Some(product_id) = short else {
            return Ok(FulfilOutcome::Fulfilled);
        };
        let reason = format!(
            "net cancel: a virtual account was issued but the order cannot be fulfilled \
             (product {product_id} is out of stock)"
        );
        self.out_of_stock(payment_id, &["PENDING", "FAILED"], &reason).await
    }

    /// Stock was short: the order becomes [`STATUS_CANCELLING`] (from one of
    /// `from`) with `reason`; `OutOfStock` if this call moved it.
    async fn out_of_stock(&self, payment_id: &str, from: &[&str], reason: &str) -> Result<FulfilOutcome, sqlx::Error> {
        let moved = self
            .transition(payment_id, from, STATUS_CANCELLING, None, Some(reason))
            .await?;
        Ok(if moved {
            FulfilOutcome::OutOfStock
        } else {
            FulfilOutcome::AlreadyDone
        })
    }

    /// Gives back the stock an unfulfilled order holds (its virtual account
    /// ended without a deposit). Conditional and in one transaction, so the
    /// stock comes back once. Returns whether it did.
    pub async fn release_hold(&self, payment_id: &str) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let released = sqlx::query(
                "UPDATE orders SET stock_held = 0 WHERE payment_id = $1 AND stock_held = 1 AND fulfilled_at IS NULL",
            )
            .bind(payment_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if released == 1 {
                // Lines in product order, as they were taken.
                let items: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT product_id, quantity FROM order_items WHERE payment_id = $1 ORDER BY product_id",
                )
                .bind(payment_id)
                .fetch_all(&mut *tx)
                .await?;
                for (product_id, quantity) in items {
                    sqlx::query("UPDATE products SET stock = stock + $1 WHERE id = $2")
                        .bind(quantity)
                        .bind(&product_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(released == 1)
        })
    }

    /// Records that a sync is reading the order now.
    pub async fn mark_synced(&self, payment_id: &str, at: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE orders SET synced_at = $1 WHERE payment_id = $2")
                .bind(at)
                .bind(payment_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Takes the reconciler's lease on an order: succeeds only if nobody
    /// synced it since `seen` (the `synced_at` the caller read) and no other
    /// reconciler holds an unexpired lease on it. Until `until` (unix
    /// seconds) or [`Db::release_sync`] with the same `token`, no other
    /// reconciler, in this process or another replica, takes it. On
    /// PostgreSQL the row is picked `FOR UPDATE SKIP LOCKED`, so replicas
    /// sweeping at once pass over each other's rows instead of queueing.
    pub async fn claim_sync(
        &self,
        payment_id: &str,
        seen: Option<i64>,
        now: i64,
        token: &str,
        until: i64,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            let sql = format!(
                "UPDATE orders SET synced_at = $1, lease_token = $2, lease_until = $3 \
                 WHERE payment_id = (SELECT payment_id FROM orders WHERE payment_id = $4 \
                 AND synced_at IS NOT DISTINCT FROM $5 AND (lease_until IS NULL OR lease_until <= $1){})",
                pool.skip_locked()
            );
            let done = sqlx::query(&sql)
                .bind(now)
                .bind(token)
                .bind(until)
                .bind(payment_id)
                .bind(seen)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives back a lease taken with [`Db::claim_sync`] (a no-op if it
    /// expired and someone else holds it now).
    pub async fn release_sync(&self, payment_id: &str, token: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE orders SET lease_token = NULL, lease_until = NULL \
                 WHERE payment_id = $1 AND lease_token = $2",
            )
            .bind(payment_id)
            .bind(token)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Takes the right to ask the provider to cancel a [`STATUS_CANCELLING`]
    /// order now, until `until` (unix seconds) or [`Db::cancel_done`]:
    /// `false` while another sync (in any replica) is asking, so one cancel
    /// request at a time goes out per order.
    pub async fn claim_cancel(&self, payment_id: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE orders SET cancel_until = $1 WHERE payment_id = $2 AND status = 'CANCELLING' \
                 AND (cancel_until IS NULL OR cancel_until <= $3)",
            )
            .bind(until)
            .bind(payment_id)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Ends a cancel attempt claimed with [`Db::claim_cancel`].
    pub async fn cancel_done(&self, payment_id: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE orders SET cancel_until = NULL WHERE payment_id = $1")
                .bind(payment_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Orders that are not final (the reconciler's candidates), except
    /// scheduled charges not yet confirmed by PortOne.
    pub async fn open_orders(&self) -> Result<Vec<Order>, sqlx::Error> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT * FROM orders WHERE status NOT IN ('PAID', 'CANCELLED', 'EXPIRED') \
                 AND (schedule_state IS NULL OR schedule_state != 'TO_SCHEDULE') ORDER BY created_at",
            )
            .fetch_all(pool)
            .await?;
            rows.iter().map(order_from_row).collect()
        })
    }

    /// Pending scheduled charges PortOne has not confirmed yet, of one
    /// subscription or of all.
    pub async fn charges_to_schedule(&self, subscription_id: Option<&str>) -> Result<Vec<Order>, sqlx::Error> {
        const ALL: &str = "SELECT * FROM orders WHERE schedule_state = 'TO_SCHEDULE' AND status = 'PENDING'";
        on_pool!(self, pool => {
            let rows = match subscription_id {
                Some(sub) => {
                    sqlx::query(&format!("{ALL} AND subscription_id = $1"))
                        .bind(sub)
                        .fetch_all(pool)
                        .await?
                }
                None => sqlx::query(ALL).fetch_all(pool).await?,
            };
            rows.iter().map(order_from_row).collect()
        })
    }

    /// Marks a scheduled charge confirmed by PortOne (with its schedule id
    /// when known). Returns whether this call confirmed it; a schedule id
    /// that arrives after another sync already confirmed the charge without
    /// one (two syncs racing: one was answered "already exists") is still
    /// kept, but not counted again.
    pub async fn set_scheduled(&self, payment_id: &str, schedule_id: Option<&str>) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE orders SET schedule_state = 'SCHEDULED', schedule_id = COALESCE($1, schedule_id), \
                 updated_at = $2 WHERE payment_id = $3 AND schedule_state = 'TO_SCHEDULE'",
            )
            .bind(schedule_id)
            .bind(now())
            .bind(payment_id)
            .execute(pool)
            .await?;
            if done.rows_affected() == 1 {
                return Ok(true);
            }
            if let Some(schedule_id) = schedule_id {
                sqlx::query(
                    "UPDATE orders SET schedule_id = $1, updated_at = $2 \
                     WHERE payment_id = $3 AND schedule_state = 'SCHEDULED' AND schedule_id IS NULL",
                )
                .bind(schedule_id)
                .bind(now())
                .bind(payment_id)
                .execute(pool)
                .await?;
            }
            Ok(false)
        })
    }

    /// The subscription's pending scheduled charge, if any.
    pub async fn next_charge(&self, subscription_id: &str) -> Result<Option<Order>, sqlx::Error> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT * FROM orders WHERE subscription_id = $1 AND schedule_state IS NOT NULL \
                 AND status = 'PENDING'",
            )
            .bind(subscription_id)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(order_from_row).transpose()
        })
    }

    /// The charge made for an idempotency key, creating its order with
    /// `order` if the key is new. Returns the payment id and whether this
    /// call created it. Two requests with one key at once (in any replicas)
    /// create one order: the key's row is inserted `ON CONFLICT DO
    /// NOTHING`, and the loser rolls its order back and answers the
    /// winner's.
    pub async fn claim_charge(
        &self,
        subscription_id: &str,
        idempotency_key: &str,
        order: &NewOrder<'_>,
    ) -> Result<(String, bool), sqlx::Error> {
        const EXISTING: &str =
            "SELECT payment_id FROM charge_requests WHERE subscription_id = $1 AND idempotency_key = $2";
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: Option<String> = sqlx::query_scalar(EXISTING)
                .bind(subscription_id)
                .bind(idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(payment_id) = existing {
                tx.rollback().await?;
                return Ok((payment_id, false));
            }
            insert_order_in!(tx, order);
            let inserted = sqlx::query(
                "INSERT INTO charge_requests (subscription_id, idempotency_key, payment_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (subscription_id, idempotency_key) DO NOTHING",
            )
            .bind(subscription_id)
            .bind(idempotency_key)
            .bind(order.payment_id)
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                tx.commit().await?;
                return Ok((order.payment_id.to_owned(), true));
            }
            // Another request with this key committed meanwhile.
            tx.rollback().await?;
            let payment_id: String = sqlx::query_scalar(EXISTING)
                .bind(subscription_id)
                .bind(idempotency_key)
                .fetch_one(pool)
                .await?;
            Ok((payment_id, false))
        })
    }

    /// Moves a subscription from one of `from` to `to`; returns whether it
    /// changed.
    pub async fn set_subscription_status(
        &self,
        subscription_id: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE subscriptions SET status = $1, updated_at = $2 \
             WHERE subscription_id = $3 AND status IN ({})",
            placeholders(4, from.len())
        );
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(to).bind(now()).bind(subscription_id);
            for s in from {
                q = q.bind(*s);
            }
            Ok(q.execute(pool).await?.rows_affected() == 1)
        })
    }

    /// Records a webhook id (a unique key: one row however many replicas
    /// receive it). Returns `true` if it was already processed (a duplicate
    /// to acknowledge without work).
    pub async fn webhook_seen(&self, webhook_id: &str, event_type: &str) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO webhook_events (webhook_id, event_type, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (webhook_id) DO NOTHING",
            )
            .bind(webhook_id)
            .bind(event_type)
            .bind(now())
            .execute(pool)
            .await?;
            let processed: Option<String> =
                sqlx::query_scalar("SELECT processed_at FROM webhook_events WHERE webhook_id = $1")
                    .bind(webhook_id)
                    .fetch_one(pool)
                    .await?;
            Ok(processed.is_some())
        })
    }

    /// Marks a webhook id processed.
    pub async fn webhook_processed(&self, webhook_id: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE webhook_events SET processed_at = $1 WHERE webhook_id = $2")
                .bind(now())
                .bind(webhook_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// How many webhook ids were processed (for tests and monitoring).
    pub async fn processed_webhook_count(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL")
                .fetch_one(pool)
                .await
        })
    }

    /// Stores a billing-key issue request.
    pub async fn insert_billing_issue(
        &self,
        issue_id: &str,
        customer_id: &str,
        issue_name: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO billing_issues (issue_id, customer_id, issue_name, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(issue_id)
            .bind(customer_id)
            .bind(issue_name)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// The customer of a billing-key issue we prepared.
    pub async fn billing_issue_customer(&self, issue_id: &str) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT customer_id FROM billing_issues WHERE issue_id = $1")
                .bind(issue_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// Stores (or re-activates) a billing key; returns its subscription.
    /// Idempotent: the same key always maps to the same subscription (one
    /// upsert on the key's unique index, also between replicas). A deleted
    /// key stays deleted: the provider never issues a deleted key again (and
    /// PortOne V1's `customer_uid` is a fresh issuance id each time), so
    /// an upsert arriving after the delete is a stale read (a
    /// `BillingKey.Issued` sync that read the key before it was deleted and
    /// wrote after the `BillingKey.Deleted` sync) and must not bring the
    /// subscription back.
    pub async fn upsert_subscription(
        &self,
        billing_key: &str,
        customer_id: &str,
        issue_id: Option<&str>,
        provider: ProviderKind,
    ) -> Result<SubscriptionRow, sqlx::Error> {
        let now = now();
        let new_id = format!("sub-{}", uuid::Uuid::new_v4().simple());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO subscriptions (subscription_id, billing_key, customer_id, status, issue_id, \
                 created_at, updated_at, provider) \
                 VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5, $6) \
                 ON CONFLICT (billing_key) DO UPDATE SET \
                 status = CASE WHEN subscriptions.status = 'DELETED' THEN 'DELETED' ELSE 'ACTIVE' END, \
                 issue_id = COALESCE(subscriptions.issue_id, excluded.issue_id), updated_at = excluded.updated_at",
            )
            .bind(&new_id)
            .bind(billing_key)
            .bind(customer_id)
            .bind(issue_id)
            .bind(&now)
            .bind(provider.as_str())
            .execute(pool)
            .await?;
            let row = sqlx::query("SELECT * FROM subscriptions WHERE billing_key = $1")
                .bind(billing_key)
                .fetch_one(pool)
                .await?;
            subscription_from_row(&row)
        })
    }

    /// Marks a billing key unusable. Returns whether a row changed.
    pub async fn delete_subscription_by_key(&self, billing_key: &str) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            Ok(sqlx::query(
                "UPDATE subscriptions SET status = 'DELETED', updated_at = $1 \
                 WHERE billing_key = $2 AND status != 'DELETED'",
            )
            .bind(now())
            .bind(billing_key)
            .execute(pool)
            .await?
            .rows_affected()
                == 1)
        })
    }

    /// Loads a subscription by id.
    pub async fn subscription(&self, subscription_id: &str) -> Result<Option<SubscriptionRow>, sqlx::Error> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM subscriptions WHERE subscription_id = $1")
                .bind(subscription_id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(subscription_from_row).transpose()
        })
    }

    /// Loads a subscription by billing key.
    pub async fn subscription_by_key(&self, billing_key: &str) -> Result<Option<SubscriptionRow>, sqlx::Error> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM subscriptions WHERE billing_key = $1")
                .bind(billing_key)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(subscription_from_row).transpose()
        })
    }

    /// Orders created for a PortOne schedule.
    pub async fn orders_by_schedule(&self, schedule_id: &str) -> Result<Vec<Order>, sqlx::Error> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM orders WHERE schedule_id = $1")
                .bind(schedule_id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(order_from_row).collect()
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first_free_one() {
        assert_eq!(placeholders(8, 3), "$8, $9, $10");
        assert_eq!(placeholders(1, 0), "");
    }
}
