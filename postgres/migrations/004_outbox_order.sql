-- Outbox writers take turns, so that seq order is commit order and the relay can never skip a row.
--
-- The relay (kafka.Relay over postgres.Outbox) publishes unsent rows in seq order and remembers nothing but
-- "sent": it promises that one key's events reach Kafka in seq order. A seq is drawn when a row is inserted,
-- but the row becomes visible only when its transaction commits. Without this migration two writers could
-- commit in the opposite order of their seqs — T1 draws seq 10, T2 draws seq 11 and commits first — and a
-- relay round between the two commits would publish 11, then 10 on the next round: out of order.
--
-- The trigger below takes a transaction-scoped advisory lock, one per schema, before an INSERT or COPY into
-- the outbox draws any seq (a statement-level BEFORE trigger fires before the first row is built, and the
-- identity default is evaluated while the row is built). The lock is held until the writer's transaction
-- ends, and PostgreSQL releases it only after the transaction's commit (or abort) is visible to new
-- snapshots. So for seqs a < b written by transactions Ta and Tb, both committed: Ta and Tb held the lock at
-- the times they drew a and b, the lock has one holder at a time and the sequence only grows (CACHE 1, set
-- below), so Ta held it first; Ta's commit was visible before Tb got the lock, hence before Tb committed.
-- Any snapshot that sees b therefore sees a. The set of committed seqs a reader sees is closed downwards,
-- gaps aside that no commit can ever fill (a rolled-back insert): a row that becomes visible later always
-- has a seq above every row visible now, and the relay, which only moves up, never has to go back.
--
-- The trade-off: outbox writers are serialised from their first outbox insert to their commit. The batched
-- ledger writer copies its events as the last statement before COMMIT and is meant to be the one writer of
-- its schema (ARCHITECTURE.md), so today this costs next to nothing; any other writer should also write the
-- outbox last, or it holds every other writer for the rest of its transaction. A writer that holds the
-- lock and then waits for a row lock held by another writer waiting for the outbox is a deadlock, which
-- PostgreSQL detects and breaks by failing one of them.
--
-- The alternative considered — record pg_current_xact_id() per row and relay only rows with
-- xid < pg_snapshot_xmin(pg_current_snapshot()) — serialises nobody but is not enough for seq order: xid
-- order is not seq order (T1 may take its xid first and its seq last), and a transaction that has drawn a
-- seq but not yet an xid is not in any snapshot at all. It can only give an order by (xid, seq), which is
-- neither seq order nor commit order.
--
-- The key is the two-int form (hashtext('tasvieh.outbox'), hashtext(schema)): its own key space, apart
-- from the one-bigint locks of Migrate and the ledger writer, and one lock per schema, so that the schemas
-- of parallel tests do not wait for each other.
CREATE FUNCTION outbox_writers_take_turns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tasvieh.outbox'), hashtext(TG_TABLE_SCHEMA));
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_writers_take_turns BEFORE INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_writers_take_turns();

-- Seqs must be drawn in increasing order across sessions: a sequence cache above 1 hands each session its
-- own range, and the proof above would fail. 1 is the default; this makes it explicit.
ALTER TABLE outbox ALTER COLUMN seq SET CACHE 1;
