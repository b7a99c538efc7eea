-- PAYA (internal/server/paya*.go).
--
-- paya_window is the cycle processor's inbox: every entry it consumed from Kafka (topics paya.credit and
-- paya.debit), once — a redelivered entry hits the primary key and counts nothing twice. A cycle nets what its
-- window holds; cycle moves forward when an entry is deferred (its bank could not cover its net).
CREATE TABLE paya_window (
    entry_id     text   PRIMARY KEY,
    intake_cycle text   NOT NULL, -- the cycle the entry was accepted into (YYYY-MM-DDTHH:MM, Tehran)
    cycle        text   NOT NULL, -- the cycle it settles in: intake_cycle, or later once deferred
    payer_bank   text   NOT NULL, -- the bank whose customer pays: a credit's originator, a debit's receiver
    payee_bank   text   NOT NULL,
    amount       bigint NOT NULL CHECK (amount > 0)
);
CREATE INDEX paya_window_cycle ON paya_window (cycle, payer_bank, payee_bank);
CREATE INDEX paya_window_intake ON paya_window (intake_cycle);

-- Entries are rail rows (kind 'paya.entry'); a cycle's delivery and the lists read them by cycle and by file.
CREATE INDEX rail_objects_paya_cycle ON rail_objects ((body->>'cycle'), id) WHERE kind = 'paya.entry';
CREATE INDEX rail_objects_paya_intake ON rail_objects ((body->>'intake_cycle')) WHERE kind = 'paya.entry';
CREATE INDEX rail_objects_paya_file ON rail_objects ((body->>'file_id'), id) WHERE kind = 'paya.entry';
