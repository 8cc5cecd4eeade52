//! The schema of each backend as numbered migrations, applied at start.
//!
//! Both backends count versions alike: version N means the same tables and
//! columns on SQLite and on PostgreSQL. SQLite keeps its version in
//! `PRAGMA user_version` (databases made before PostgreSQL was supported
//! are at 3); PostgreSQL in the table `schema_migrations`. PostgreSQL
//! starts at version 3 (the SQLite versions 1 to 3 in one script) because
//! no PostgreSQL database predates it.
//!
//! A new migration is a new last entry in both lists, with the same number.

/// One migration: its version and the SQL that moves the previous version
/// to it.
pub(super) type Migration = (i64, &'static str);

/// SQLite's migrations.
pub(super) const SQLITE: &[Migration] = &[(1, SQLITE_V1), (2, SQLITE_V2), (3, SQLITE_V3), (4, SQLITE_V4)];

/// PostgreSQL's migrations.
pub(super) const POSTGRES: &[Migration] = &[(3, POSTGRES_V3), (4, POSTGRES_V4)];

/// A key of PostgreSQL's advisory locks, held while migrating, so replicas
/// starting at once migrate one after another ("checkout" in ASCII).
pub(super) const POSTGRES_MIGRATION_LOCK: i64 = 0x0063_6865_636b_6f75;

const SQLITE_V1: &str = r#"
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
const SQLITE_V2: &str = r#"
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
const SQLITE_V3: &str = r#"
ALTER TABLE orders ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
ALTER TABLE subscriptions ADD COLUMN provider TEXT NOT NULL DEFAULT 'portone_v2';
"#;

/// Version 4: leases, so that across replicas one reconciler at a time
/// syncs an order and one process at a time asks for its cancel
/// (unix seconds; the token names the holder).
const SQLITE_V4: &str = r#"
ALTER TABLE orders ADD COLUMN lease_token TEXT;
ALTER TABLE orders ADD COLUMN lease_until INTEGER;
ALTER TABLE orders ADD COLUMN cancel_until INTEGER;
"#;

/// Versions 1 to 3 of SQLite in one: amounts, stock and unix times are
/// `BIGINT` (Rust's `i64`).
const POSTGRES_V3: &str = r#"
CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL,
    stock BIGINT NOT NULL CHECK (stock >= 0),
    position BIGINT NOT NULL
);
CREATE TABLE orders (
    payment_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    order_name TEXT NOT NULL,
    total_amount BIGINT NOT NULL,
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
    updated_at TEXT NOT NULL,
    synced_at BIGINT,
    due_at BIGINT,
    schedule_state TEXT,
    provider TEXT NOT NULL DEFAULT 'portone_v2'
);
CREATE UNIQUE INDEX orders_one_pending_scheduled_charge
    ON orders (subscription_id) WHERE schedule_state IS NOT NULL AND status = 'PENDING';
CREATE INDEX orders_open ON orders (status) WHERE status NOT IN ('PAID', 'CANCELLED', 'EXPIRED');
CREATE INDEX orders_by_schedule ON orders (schedule_id) WHERE schedule_id IS NOT NULL;
CREATE TABLE order_items (
    payment_id TEXT NOT NULL REFERENCES orders(payment_id),
    product_id TEXT NOT NULL REFERENCES products(id),
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
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
    updated_at TEXT NOT NULL,
    provider TEXT NOT NULL DEFAULT 'portone_v2'
);
CREATE TABLE charge_requests (
    subscription_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payment_id TEXT NOT NULL REFERENCES orders(payment_id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (subscription_id, idempotency_key)
);
"#;

/// Version 4 (see [`SQLITE_V4`]).
const POSTGRES_V4: &str = r#"
ALTER TABLE orders ADD COLUMN lease_token TEXT;
ALTER TABLE orders ADD COLUMN lease_until BIGINT;
ALTER TABLE orders ADD COLUMN cancel_until BIGINT;
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_end_at_the_same_version_and_count_up_by_one() {
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[1].0 == w[0].0 + 1), "versions go up by one");
        }
        assert_eq!(SQLITE.last().map(|m| m.0), POSTGRES.last().map(|m| m.0));
    }
}
