-- The relay's progress as one cursor instead of a mark on every row.
--
-- Until now MarkSent set sent_at on each relayed row: a second write of every event (an UPDATE that cannot be
-- HOT, since sent_at is in the predicate of the partial index outbox_unsent, so every index of the row gets a
-- new entry), and the largest single cost of the database under SATNA's load (`tasvieh bench rtgs`, with
-- pg_stat_statements: the UPDATE took more execution time than the COPY of the transfers). Migration 004 makes
-- seq order commit order: the committed seqs a reader sees are closed downwards (gaps aside that no commit can
-- fill), so "relayed" is exactly "seq at or below the highest seq relayed". The relay publishes in seq order
-- and marks a prefix of what is pending, so one number says it all.
CREATE TABLE outbox_relay (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint  NOT NULL CHECK (seq >= 0) -- every event with a seq at or below it reached Kafka
);

-- The cursor starts below the first row not yet sent (rows sent out of order above it are sent again:
-- consumers dedupe by event id), or after the last row when all were sent.
INSERT INTO outbox_relay (seq)
SELECT coalesce((SELECT min(seq) - 1 FROM outbox WHERE sent_at IS NULL), (SELECT max(seq) FROM outbox), 0);

DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP COLUMN sent_at;
