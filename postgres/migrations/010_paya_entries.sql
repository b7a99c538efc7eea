-- PAYA's entries in a table of their own, instead of rail rows (migration 009's kind 'paya.entry').
--
-- `tasvieh bench paya` found the writer spending most of a million-entry file and cycle in the upsert of rail
-- rows: each entry's JSON body (some 660 bytes) parsed as jsonb and written whole at intake and again at
-- delivery, under four indexes (the primary key and three expressions over the body), none of the second
-- writes HOT. Here what a cycle changes is columns of their own, none of them indexed, so a delivery's UPDATE
-- is HOT (fillfactor leaves room on the page for the row's next version) and touches no index; the body, what
-- never changes after intake, is written once.
CREATE TABLE paya_entries (
    id               text    PRIMARY KEY, -- derived from the originating bank and its reference
    status           text    NOT NULL,    -- accepted, deferred, delivered, posted, returned
    cycle            text    NOT NULL,    -- the cycle it settles in (YYYY-MM-DDTHH:MM, Tehran)
    intake_cycle     text    NOT NULL,    -- the cycle it was accepted into
    file_id          text,                -- the file it came in, NULL for a single entry
    originating_bank text    NOT NULL,
    receiving_bank   text    NOT NULL,
    payer_bank       text    NOT NULL,    -- whose customer pays: a credit's originator, a debit's receiver
    payee_bank       text    NOT NULL,
    amount           bigint  NOT NULL CHECK (amount > 0),
    payer_done       boolean NOT NULL,    -- the payer's leg is booked
    payee_done       boolean NOT NULL,    -- the payee's leg is booked
    settled_at       bigint  NOT NULL DEFAULT 0, -- unix nanoseconds; 0: not yet
    answered_at      bigint  NOT NULL DEFAULT 0, -- posted or returned, or handed to an external bank
    return_deadline  bigint  NOT NULL DEFAULT 0,
    returned_by      text    NOT NULL DEFAULT '',
    return_code      text    NOT NULL DEFAULT '',
    body             jsonb   NOT NULL     -- the rest, as accepted: parties, names, reference, fee, row, times
) WITH (fillfactor = 70);
CREATE INDEX paya_entries_cycle ON paya_entries (cycle, id);
CREATE INDEX paya_entries_intake ON paya_entries (intake_cycle);
CREATE INDEX paya_entries_file ON paya_entries (file_id, id) WHERE file_id IS NOT NULL;

-- Entries stored as rail rows before this migration move here, whole.
INSERT INTO paya_entries (id, status, cycle, intake_cycle, file_id, originating_bank, receiving_bank, payer_bank, payee_bank,
        amount, payer_done, payee_done, returned_by, return_code, body)
SELECT id, status, body->>'cycle', body->>'intake_cycle', nullif(body->>'file_id', ''), body->>'originating_bank',
        body->>'receiving_bank', body->>'payer_bank', body->>'payee_bank', (body->>'amount_rial')::bigint,
        coalesce((body->>'payer_done')::boolean, false), coalesce((body->>'payee_done')::boolean, false),
        coalesce(body->>'returned_by', ''), coalesce(body->>'return_code', ''), body
FROM rail_objects WHERE kind = 'paya.entry';
DELETE FROM rail_objects WHERE kind = 'paya.entry';
DROP INDEX rail_objects_paya_cycle;
DROP INDEX rail_objects_paya_intake;
DROP INDEX rail_objects_paya_file;
