//! The SQLite database: schema, seed catalogue and the queries the handlers
//! and the sync use.
//!
//! Orders and every state transition are written in transactions before a
//! response is sent, so a restart (even a kill) loses nothing. Fulfilment is
//! claimed by a conditional `UPDATE ... WHERE fulfilled_at IS NULL` inside a
//! transaction: SQLite serialises writers across processes sharing the file,
//! so exactly one sync wins.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use portone_checkout::protocol::{OrderStatus, PaymentId, PaymentStatus, PgFailure};

use crate::provider::ProviderKind;
use crate::shop_api::Product;
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

const SCHEMA_V1: &str = r#"
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    position INTEGER NOT NULL
);
CREATE TABLE orders (
    payment_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_name TEXT NOT NULL,
    total_amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    subscription_id TEXT,
    status TEXT NOT NULL,
    paid_at TEXT,
    failure_code TEXT,
    failure_pg_code TEXT,
    failure_message TEXT,
    message TEXT,
    fulfilled_at TEXT,
    schedule_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE order_items (
    payment_id TEXT NOT NULL REFERENCES orders(payment_id),
    product_id TEXT NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (payment_id, product_id)
);
CREATE TABLE fulfilments (
    payment_id TEXT PRIMARY KEY REFERENCES orders(payment_id),
    fulfilled_at TEXT NOT NULL
);
CREATE TABLE webhook_events (
    webhook_id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    received_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE TABLE billing_issues (
    issue_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    issue_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE subscriptions (
    subscription_id TEXT PRIMARY KEY,
    billing_key TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    issue_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#;

/// Version 2: sync bookkeeping for the reconciler, scheduled charges that
/// are written before PortOne is asked, charge idempotency keys.
const SCHEMA_V2: &str = r#"
ALTER TABLE orders ADD COLUMN synced_at INTEGER;
ALTER TABLE orders ADD COLUMN due_at INTEGER;
ALTER TABLE orders ADD COLUMN schedule_state TEXT;
CREATE UNIQUE INDEX orders_one_pending_scheduled_charge
    ON orders (subscription_id) WHERE schedule_state IS NOT NULL AND status = 'PENDING';
CREATE INDEX orders_open ON orders (status) WHERE status NOT IN ('PAID', 'CANCELLED', 'EXPIRED');
CREATE TABLE charge_requests (
    subscription_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payment_id TEXT NOT NULL REFERENCES orders(payment_id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (subscription_id, idempotency_key)
);
"#;

/// Version 3: each order records the provider it is paid with.
const SCHEMA_V3: &str = r#"
ALTER TABLE orders ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
ALTER TABLE subscriptions ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
"#;

/// Version 4: an issued virtual account holds its order's stock until the
/// deposit (or the account's end), so a deposit can always be fulfilled: a
/// deposited virtual account cannot be net-cancelled without the customer's
/// refund account.
const SCHEMA_V4: &str = r#"
ALTER TABLE orders ADD COLUMN stock_held INTEGER NOT NULL DEFAULT 0;
"#;

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

/// The database handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
}

fn order_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Order, sqlx::Error> {
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

fn provider_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ProviderKind, sqlx::Error> {
    let name: String = row.try_get("provider")?;
    ProviderKind::parse(&name)
        .ok_or_else(|| sqlx::Error::Decode(format!("provider {name:?} is not one this server speaks").into()))
}

async fn insert_order_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    order: &NewOrder<'_>,
) -> Result<(), sqlx::Error> {
    let now = now();
    sqlx::query(
        "INSERT INTO orders (payment_id, kind, order_name, total_amount, currency, customer_id, \
         subscription_id, status, created_at, updated_at, due_at, schedule_state, provider) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?)",
    )
    .bind(order.payment_id)
    .bind(order.kind)
    .bind(order.order_name)
    .bind(order.total_amount)
    .bind(order.currency)
    .bind(order.customer_id)
    .bind(order.subscription_id)
    .bind(&now)
    .bind(&now)
    .bind(order.due_at)
    .bind(order.schedule_state)
    .bind(order.provider.as_str())
    .execute(&mut **tx)
    .await?;
    for (product_id, quantity, unit_price) in order.items {
        sqlx::query(
            "INSERT INTO order_items (payment_id, product_id, quantity, unit_price) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(order.payment_id)
        .bind(product_id)
        .bind(i64::from(*quantity))
        .bind(unit_price)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Takes the stock of every line of an order, each only if enough is left;
/// `Err(product)` names the first product that is short (the caller rolls
/// the transaction back).
async fn take_stock(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    payment_id: &str,
) -> Result<Result<(), String>, sqlx::Error> {
    let items: Vec<(String, i64)> = sqlx::query_as("SELECT product_id, quantity FROM order_items WHERE payment_id = ?")
        .bind(payment_id)
        .fetch_all(&mut **tx)
        .await?;
    for (product_id, quantity) in items {
        let taken = sqlx::query("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?")
            .bind(quantity)
            .bind(&product_id)
            .bind(quantity)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if taken != 1 {
            return Ok(Err(product_id));
        }
    }
    Ok(Ok(()))
}

fn subscription_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SubscriptionRow, sqlx::Error> {
    Ok(SubscriptionRow {
        subscription_id: row.try_get("subscription_id")?,
        billing_key: row.try_get("billing_key")?,
        customer_id: row.try_get("customer_id")?,
        status: row.try_get("status")?,
        issue_id: row.try_get("issue_id")?,
        provider: provider_from_row(row)?,
    })
}

impl Db {
    /// Opens (creating file and parent directory if needed), migrates and
    /// seeds the database at `path`.
    pub async fn open(path: &Path) -> Result<Db, sqlx::Error> {
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
        let db = Db { pool };
        db.migrate().await?;
        db.seed().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        // BEGIN IMMEDIATE: two processes starting at once migrate one at a time.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await?;
        if version < 1 {
            sqlx::raw_sql(SCHEMA_V1).execute(&mut *tx).await?;
            sqlx::query("PRAGMA user_version = 1").execute(&mut *tx).await?;
        }
        if version < 2 {
            sqlx::raw_sql(SCHEMA_V2).execute(&mut *tx).await?;
            sqlx::query("PRAGMA user_version = 2").execute(&mut *tx).await?;
        }
        if version < 3 {
            sqlx::raw_sql(SCHEMA_V3).execute(&mut *tx).await?;
            sqlx::query("PRAGMA user_version = 3").execute(&mut *tx).await?;
        }
        if version < 4 {
            sqlx::raw_sql(SCHEMA_V4).execute(&mut *tx).await?;
            sqlx::query("PRAGMA user_version = 4").execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    async fn seed(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for (position, (id, name, price, stock)) in SEED_PRODUCTS.iter().enumerate() {
            sqlx::query(
                "INSERT OR IGNORE INTO products (id, name, price, currency, stock, position) \
                 VALUES (?, ?, ?, 'KRW', ?, ?)",
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
    }

    /// The catalogue in display order.
    pub async fn products(&self) -> Result<Vec<Product>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, name, price, currency FROM products ORDER BY position")
            .fetch_all(&self.pool)
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
    }

    /// Units in stock of a product.
    pub async fn stock(&self, product_id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT stock FROM products WHERE id = ?")
            .bind(product_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Sets a product's stock (for operators and tests).
    pub async fn set_stock(&self, product_id: &str, stock: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE products SET stock = ? WHERE id = ?")
            .bind(stock)
            .bind(product_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Sets when a scheduled charge is due (unix seconds; for operators and
    /// tests).
    pub async fn set_due_at(&self, payment_id: &str, due_at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE orders SET due_at = ? WHERE payment_id = ?")
            .bind(due_at)
            .bind(payment_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Inserts a new `PENDING` order with its lines.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        insert_order_in(&mut tx, order).await?;
        tx.commit().await
    }

    /// Deletes a `PENDING` order that was never handed out (pre-register
    /// failed).
    pub async fn delete_pending_order(&self, payment_id: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM order_items WHERE payment_id = ?")
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM orders WHERE payment_id = ? AND status = 'PENDING'")
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Loads an order.
    pub async fn order(&self, payment_id: &str) -> Result<Option<Order>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM orders WHERE payment_id = ?")
            .bind(payment_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// How many fulfilment records exist for a payment (0 or 1).
    pub async fn fulfilment_count(&self, payment_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM fulfilments WHERE payment_id = ?")
            .bind(payment_id)
            .fetch_one(&self.pool)
            .await
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
        let placeholders = vec!["?"; from.len()].join(", ");
        let sql = format!(
            "UPDATE orders SET status = ?, failure_code = ?, failure_pg_code = ?, failure_message = ?, \
             message = COALESCE(?, message), updated_at = ? \
             WHERE payment_id = ? AND status IN ({placeholders})"
        );
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
        Ok(q.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Claims the fulfilment of a verified, paid order: in one transaction,
    /// a conditional update marks it `PAID` (only if not yet fulfilled nor
    /// decided otherwise), takes the stock and writes the fulfilment record.
    /// If stock is short, the order becomes [`STATUS_CANCELLING`] instead.
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
        // BEGIN IMMEDIATE takes SQLite's write lock at once (waiting up to the
        // busy timeout), so concurrent claims queue instead of failing with a
        // read-then-upgrade conflict.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let claimed = sqlx::query(
            "UPDATE orders SET status = 'PAID', paid_at = ?, fulfilled_at = ?, \
             failure_code = NULL, failure_pg_code = NULL, failure_message = NULL, updated_at = ? \
             WHERE payment_id = ? AND fulfilled_at IS NULL \
             AND status IN ('PENDING', 'FAILED', 'VIRTUAL_ACCOUNT_ISSUED', 'EXPIRED')",
        )
        .bind(paid_at)
        .bind(&now)
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
        let held: i64 = sqlx::query_scalar("SELECT stock_held FROM orders WHERE payment_id = ?")
            .bind(payment_id)
            .fetch_one(&mut *tx)
            .await?;
        if held == 0 {
            if let Err(product_id) = take_stock(&mut tx, payment_id).await? {
                tx.rollback().await?;
                let reason = format!(
                    "net cancel: the order was paid but could not be fulfilled \
                     (product {product_id} is out of stock)"
                );
                return self.out_of_stock(payment_id, PAYABLE, &reason).await;
            }
        }
        sqlx::query("INSERT INTO fulfilments (payment_id, fulfilled_at) VALUES (?, ?)")
            .bind(payment_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        if let Some(next) = next_charge {
            let subscription = next.subscription_id.unwrap_or_default();
            let active: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM subscriptions WHERE subscription_id = ? AND status = 'ACTIVE' \
                 AND NOT EXISTS (SELECT 1 FROM orders WHERE subscription_id = ? \
                 AND schedule_state IS NOT NULL AND status = 'PENDING')",
            )
            .bind(subscription)
            .bind(subscription)
            .fetch_optional(&mut *tx)
            .await?;
            if active.is_some() {
                insert_order_in(&mut tx, next).await?;
            }
        }
        tx.commit().await?;
        Ok(FulfilOutcome::Fulfilled)
    }

    /// An issued virtual account: in one transaction, the order becomes
    /// `VIRTUAL_ACCOUNT_ISSUED` (from `PENDING` or `FAILED`) and takes its
    /// stock, held until the deposit ([`Db::fulfil`] then takes none) or the
    /// account's end ([`Db::release_hold`]). If stock is short, the order
    /// becomes [`STATUS_CANCELLING`] instead and the caller cancels the
    /// waiting account (which, unlike a deposited one, needs no refund
    /// account). Conditional, so one caller wins.
    pub async fn hold_for_deposit(&self, payment_id: &str) -> Result<FulfilOutcome, sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let claimed = sqlx::query(
            "UPDATE orders SET status = 'VIRTUAL_ACCOUNT_ISSUED', stock_held = 1, failure_code = NULL, \
             failure_pg_code = NULL, failure_message = NULL, updated_at = ? \
             WHERE payment_id = ? AND stock_held = 0 AND fulfilled_at IS NULL AND status IN ('PENDING', 'FAILED')",
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
        if let Err(product_id) = take_stock(&mut tx, payment_id).await? {
            tx.rollback().await?;
            let reason = format!(
                "net cancel: a virtual account was issued but the order cannot be fulfilled \
                 (product {product_id} is out of stock)"
            );
            return self.out_of_stock(payment_id, &["PENDING", "FAILED"], &reason).await;
        }
        tx.commit().await?;
        Ok(FulfilOutcome::Fulfilled)
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let released = sqlx::query(
            "UPDATE orders SET stock_held = 0 WHERE payment_id = ? AND stock_held = 1 AND fulfilled_at IS NULL",
        )
        .bind(payment_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if released == 1 {
            sqlx::query(
                "UPDATE products SET stock = stock + (SELECT quantity FROM order_items i \
                 WHERE i.payment_id = ? AND i.product_id = products.id) \
                 WHERE id IN (SELECT product_id FROM order_items WHERE payment_id = ?)",
            )
            .bind(payment_id)
            .bind(payment_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(released == 1)
    }

    /// Records that a sync is reading the order now.
    pub async fn mark_synced(&self, payment_id: &str, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE orders SET synced_at = ? WHERE payment_id = ?")
            .bind(at)
            .bind(payment_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Claims an order for a reconciler sync: succeeds only if nobody
    /// synced it since `seen` (the `synced_at` the caller read), so two
    /// reconcilers (in one process or several) never sync the same order in
    /// the same sweep.
    pub async fn claim_sync(&self, payment_id: &str, seen: Option<i64>, at: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE orders SET synced_at = ? WHERE payment_id = ? \
             AND synced_at IS ?",
        )
        .bind(at)
        .bind(payment_id)
        .bind(seen)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Orders that are not final (the reconciler's candidates), except
    /// scheduled charges not yet confirmed by PortOne.
    pub async fn open_orders(&self) -> Result<Vec<Order>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT * FROM orders WHERE status NOT IN ('PAID', 'CANCELLED', 'EXPIRED') \
             AND (schedule_state IS NULL OR schedule_state != 'TO_SCHEDULE') ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Pending scheduled charges PortOne has not confirmed yet, of one
    /// subscription or of all.
    pub async fn charges_to_schedule(&self, subscription_id: Option<&str>) -> Result<Vec<Order>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT * FROM orders WHERE schedule_state = 'TO_SCHEDULE' AND status = 'PENDING' \
             AND (? IS NULL OR subscription_id = ?)",
        )
        .bind(subscription_id)
        .bind(subscription_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Marks a scheduled charge confirmed by PortOne (with its schedule id
    /// when known).
    pub async fn set_scheduled(&self, payment_id: &str, schedule_id: Option<&str>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE orders SET schedule_state = 'SCHEDULED', schedule_id = COALESCE(?, schedule_id), \
             updated_at = ? WHERE payment_id = ? AND schedule_state = 'TO_SCHEDULE'",
        )
        .bind(schedule_id)
        .bind(now())
        .bind(payment_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The subscription's pending scheduled charge, if any.
    pub async fn next_charge(&self, subscription_id: &str) -> Result<Option<Order>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT * FROM orders WHERE subscription_id = ? AND schedule_state IS NOT NULL AND status = 'PENDING'",
        )
        .bind(subscription_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// The charge made for an idempotency key, creating its order with
    /// `order` if the key is new. Returns the payment id and whether this
    /// call created it.
    pub async fn claim_charge(
        &self,
        subscription_id: &str,
        idempotency_key: &str,
        order: &NewOrder<'_>,
    ) -> Result<(String, bool), sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT payment_id FROM charge_requests WHERE subscription_id = ? AND idempotency_key = ?",
        )
        .bind(subscription_id)
        .bind(idempotency_key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(payment_id) = existing {
            tx.rollback().await?;
            return Ok((payment_id, false));
        }
        insert_order_in(&mut tx, order).await?;
        sqlx::query(
            "INSERT INTO charge_requests (subscription_id, idempotency_key, payment_id, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(subscription_id)
        .bind(idempotency_key)
        .bind(order.payment_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((order.payment_id.to_owned(), true))
    }

    /// Moves a subscription from one of `from` to `to`; returns whether it
    /// changed.
    pub async fn set_subscription_status(
        &self,
        subscription_id: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, sqlx::Error> {
        let placeholders = vec!["?"; from.len()].join(", ");
        let sql = format!(
            "UPDATE subscriptions SET status = ?, updated_at = ? \
             WHERE subscription_id = ? AND status IN ({placeholders})"
        );
        let mut q = sqlx::query(&sql).bind(to).bind(now()).bind(subscription_id);
        for s in from {
            q = q.bind(*s);
        }
        Ok(q.execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Records a webhook id. Returns `false` if it was already processed
    /// (a duplicate to acknowledge without work).
    pub async fn webhook_seen(&self, webhook_id: &str, event_type: &str) -> Result<bool, sqlx::Error> {
        sqlx::query("INSERT OR IGNORE INTO webhook_events (webhook_id, event_type, received_at) VALUES (?, ?, ?)")
            .bind(webhook_id)
            .bind(event_type)
            .bind(now())
            .execute(&self.pool)
            .await?;
        let processed: Option<String> =
            sqlx::query_scalar("SELECT processed_at FROM webhook_events WHERE webhook_id = ?")
                .bind(webhook_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(processed.is_some())
    }

    /// Marks a webhook id processed.
    pub async fn webhook_processed(&self, webhook_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE webhook_events SET processed_at = ? WHERE webhook_id = ?")
            .bind(now())
            .bind(webhook_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// How many webhook ids were processed (for tests and monitoring).
    pub async fn processed_webhook_count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await
    }

    /// Stores a billing-key issue request.
    pub async fn insert_billing_issue(
        &self,
        issue_id: &str,
        customer_id: &str,
        issue_name: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO billing_issues (issue_id, customer_id, issue_name, created_at) VALUES (?, ?, ?, ?)")
            .bind(issue_id)
            .bind(customer_id)
            .bind(issue_name)
            .bind(now())
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The customer of a billing-key issue we prepared.
    pub async fn billing_issue_customer(&self, issue_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT customer_id FROM billing_issues WHERE issue_id = ?")
            .bind(issue_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Stores (or re-activates) a billing key; returns its subscription.
    /// Idempotent: the same key always maps to the same subscription.
    pub async fn upsert_subscription(
        &self,
        billing_key: &str,
        customer_id: &str,
        issue_id: Option<&str>,
        provider: ProviderKind,
    ) -> Result<SubscriptionRow, sqlx::Error> {
        let now = now();
        let new_id = format!("sub-{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO subscriptions (subscription_id, billing_key, customer_id, status, issue_id, created_at, updated_at, provider) \
             VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?, ?) \
             ON CONFLICT (billing_key) DO UPDATE SET status = 'ACTIVE', \
             issue_id = COALESCE(subscriptions.issue_id, excluded.issue_id), updated_at = excluded.updated_at",
        )
        .bind(&new_id)
        .bind(billing_key)
        .bind(customer_id)
        .bind(issue_id)
        .bind(&now)
        .bind(&now)
        .bind(provider.as_str())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT * FROM subscriptions WHERE billing_key = ?")
            .bind(billing_key)
            .fetch_one(&self.pool)
            .await?;
        subscription_from_row(&row)
    }

    /// Marks a billing key unusable. Returns whether a row changed.
    pub async fn delete_subscription_by_key(&self, billing_key: &str) -> Result<bool, sqlx::Error> {
        Ok(sqlx::query(
            "UPDATE subscriptions SET status = 'DELETED', updated_at = ? WHERE billing_key = ? AND status != 'DELETED'",
        )
        .bind(now())
        .bind(billing_key)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Loads a subscription by id.
    pub async fn subscription(&self, subscription_id: &str) -> Result<Option<SubscriptionRow>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM subscriptions WHERE subscription_id = ?")
            .bind(subscription_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(subscription_from_row).transpose()
    }

    /// Loads a subscription by billing key.
    pub async fn subscription_by_key(&self, billing_key: &str) -> Result<Option<SubscriptionRow>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM subscriptions WHERE billing_key = ?")
            .bind(billing_key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(subscription_from_row).transpose()
    }

    /// Orders created for a PortOne schedule.
    pub async fn orders_by_schedule(&self, schedule_id: &str) -> Result<Vec<Order>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM orders WHERE schedule_id = ?")
            .bind(schedule_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
