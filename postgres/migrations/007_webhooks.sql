-- Notifications for member banks: the events feed and signed webhooks.
--
-- A notification for bank B is an outbox row with topic 'notifications' and key = B's three-digit CBI code;
-- an event that concerns two banks is written once per bank. Two readers walk one bank's notifications in
-- seq order: the feed (GET /v1/events, postgres.Outbox.Feed) and the webhook enqueuer (postgres.Webhooks.
-- Enqueue). Both rely on migration 004 (seq order is commit order) to advance a cursor without ever skipping
-- a row that commits late.
--
-- The index is partial: only notification rows pay for it. Other topics (PAYA entries, ledger events) are
-- written by the batched writer's COPY, where every index entry costs write throughput (see 005), and nothing
-- reads them by key. Queries must name the topic as a literal for the planner to use it.
CREATE INDEX outbox_notifications ON outbox (key, seq) WHERE topic = 'notifications';

-- One webhook endpoint per bank. The secret is the signing key, 32 random bytes in lower-case hex, kept as
-- is because signing needs it in the clear; a deployment would encrypt it at rest (a KMS-wrapped key, or
-- pgcrypto with a key outside the database). from_seq is the last outbox seq committed when the endpoint was
-- first registered: deliveries start after it. cursor_seq is how far the enqueuer has read the bank's
-- notifications; it only moves up.
CREATE TABLE webhook_endpoints (
    bank       text        PRIMARY KEY CHECK (bank ~ '^[0-9]{3}$'),
    url        text        NOT NULL CHECK (octet_length(url) BETWEEN 1 AND 2048),
    secret     text        NOT NULL CHECK (secret ~ '^[0-9a-f]{64}$'),
    from_seq   bigint      NOT NULL CHECK (from_seq >= 0),
    cursor_seq bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (cursor_seq >= from_seq)
);

-- One delivery per (bank, event): the unique key makes enqueueing idempotent. status is pending (due at
-- next_at), delivered or failed (attempts exhausted). Times are on the injected clock.
CREATE TABLE webhook_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bank         text        NOT NULL REFERENCES webhook_endpoints (bank),
    event_id     uuid        NOT NULL,
    event_seq    bigint      NOT NULL REFERENCES outbox (seq),
    status       text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at      timestamptz NOT NULL,
    last_status  integer     NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL,
    UNIQUE (bank, event_id)
);
-- Due: each bank's pending deliveries in the order they fall due (Due takes a few per bank, round-robin).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (bank, next_at, id) WHERE status = 'pending';
-- Deliveries: a bank's log, paged by id.
CREATE INDEX webhook_deliveries_bank ON webhook_deliveries (bank, id);

-- The attempt log: one row per POST, numbered from 1 within its delivery.
CREATE TABLE webhook_attempts (
    delivery_id bigint      NOT NULL REFERENCES webhook_deliveries (id),
    n           integer     NOT NULL CHECK (n > 0),
    at          timestamptz NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    status_code integer     NOT NULL, -- 0 when no HTTP answer came
    error       text        NOT NULL DEFAULT '',
    duration_ms bigint      NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (delivery_id, n)
);
