//! The schema as numbered migrations, applied at start on both backends.
//!
//! One list serves both: version N means the same tables and columns on
//! SQLite and on PostgreSQL. The scripts are written in SQLite's words, which
//! PostgreSQL takes too, but for one: PostgreSQL's `INTEGER` is 32 bits, so
//! [`for_postgres`] declares every `INTEGER` column `BIGINT` (Rust's `i64`:
//! amounts, stock, unix times). SQLite keeps its version in `PRAGMA
//! user_version`, PostgreSQL in the table `schema_migrations`.
//!
//! A new migration is a new last entry, never an edit of an applied one.

/// One migration: its version and the SQL that moves the previous version
/// to it.
pub(super) type Migration = (i64, &'static str);

/// The migrations, in order.
pub(super) const MIGRATIONS: &[Migration] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5)];

/// A key of PostgreSQL's advisory locks, held while migrating, so replicas
/// starting at once migrate one after another ("checkout" in ASCII).
pub(super) const POSTGRES_MIGRATION_LOCK: i64 = 0x0063_6865_636b_6f75;

/// A migration as PostgreSQL runs it: `INTEGER` columns are `BIGINT`.
pub(super) fn for_postgres(sql: &str) -> String {
    sql.replace(" INTEGER", " BIGINT")
}

const V1: &str = r#"
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
const V2: &str = r#"
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
const V3: &str = r#"
ALTER TABLE orders ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
ALTER TABLE subscriptions ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
"#;

/// Version 4: leases, so that across replicas one reconciler at a time
/// syncs an order and one process at a time asks for its cancel
/// (unix seconds; the token names the holder).
const V4: &str = r#"
ALTER TABLE orders ADD COLUMN lease_token TEXT;
ALTER TABLE orders ADD COLUMN lease_until INTEGER;
ALTER TABLE orders ADD COLUMN cancel_until INTEGER;
"#;

/// Version 5: an issued virtual account holds its order's stock until the
/// deposit (or the account's end), so a deposit can always be fulfilled: a
/// deposited virtual account cannot be net-cancelled without the customer's
/// refund account.
const V5: &str = r#"
ALTER TABLE orders ADD COLUMN stock_held INTEGER NOT NULL DEFAULT 0;
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_by_one_from_one() {
        for (i, (version, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
        }
    }

    #[test]
    fn postgres_gets_64_bit_integers_only() {
        for (version, sql) in MIGRATIONS {
            let pg = for_postgres(sql);
            assert!(!pg.contains("INTEGER"), "version {version}: {pg}");
            assert_eq!(pg.matches("BIGINT").count(), sql.matches(" INTEGER").count());
        }
    }
}
