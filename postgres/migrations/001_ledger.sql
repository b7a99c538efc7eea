-- The double-entry ledger: accounts with their balances, every committed transfer, the state of pending
-- transfers. Money is bigint rial. Transfer ids are client-chosen UUIDv7 (time-ordered), so the primary key
-- index grows at its right edge.
CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    ledger          integer  NOT NULL CHECK (ledger > 0),
    kind            smallint NOT NULL,
    flags           integer  NOT NULL,
    name            text     NOT NULL,
    debits_pending  bigint   NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint   NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint   NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint   NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE transfers (
    id                uuid PRIMARY KEY,
    debit_account_id  uuid     NOT NULL,
    credit_account_id uuid     NOT NULL,
    amount            bigint   NOT NULL CHECK (amount >= 0),
    ledger            integer  NOT NULL,
    code              smallint NOT NULL,
    flags             smallint NOT NULL,
    pending_id        uuid,
    timeout_s         bigint   NOT NULL DEFAULT 0,
    reference         text     NOT NULL DEFAULT '',
    ts                bigint   NOT NULL -- unix nanoseconds, strictly increasing, assigned by the ledger
);

-- One row per pending transfer: 1 active, 2 posted, 3 voided, 4 expired (ledger.PendingState).
CREATE TABLE pending_transfers (
    id    uuid PRIMARY KEY,
    state smallint NOT NULL
);

-- Events written in the same transaction as the state change that caused them, relayed to Kafka.
CREATE TABLE outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         uuid   NOT NULL UNIQUE,
    topic      text   NOT NULL,
    key        text   NOT NULL,
    type       text   NOT NULL,
    payload    bytea  NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- Events a consumer has already applied, keyed by (consumer, event id): consumers dedupe here, in the same
-- transaction as their effect, so Kafka's at-least-once becomes effectively-once.
CREATE TABLE inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
