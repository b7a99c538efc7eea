-- SHAHAB's card-to-card transfers, one row each, written by the writer with their money through the
-- statements ShahabInsert and ShahabUpdate build (postgres/shahab.go). What a transfer's answer changes —
-- status, code, times, fee, window, a late answer — is columns no index holds, so the update is HOT (when the
-- page has room for the row's new version: every row is updated once, so half of each page is left free —
-- at fillfactor 70 only some 40 % of the updates were HOT, `tasvieh bench shahab`). Only two indexes: the
-- primary key (a uuid derived from the submitting bank and its reference) is the repeat look-up, and
-- created_at serves the rest — a day's use of each card's limit rebuilt at start (a range of it), a bank's
-- list newest first (scanned backwards, filtered). Under load the row's insert was PostgreSQL's largest cost
-- per card transfer with five indexes over text keys; these two are what the rail reads by.
CREATE TABLE shahab_transfers (
    id               uuid    PRIMARY KEY,
    submitting_bank  text    NOT NULL,
    reference        text    NOT NULL,
    status           text    NOT NULL,    -- pending, succeeded, refunded, rejected
    code             text    NOT NULL,
    route            text    NOT NULL,    -- on_us, interbank
    source_bank      text    NOT NULL,
    destination_bank text    NOT NULL,
    source_pan       text    NOT NULL,
    destination_pan  text    NOT NULL,
    destination_name text    NOT NULL DEFAULT '',
    amount           bigint  NOT NULL CHECK (amount > 0),
    fee              bigint  NOT NULL DEFAULT 0, -- charged: 0 unless succeeded
    fee_held         bigint  NOT NULL DEFAULT 0, -- what the pending debit holds beyond the amount
    day              text    NOT NULL,    -- the Tehran date of its daily limit, YYYY-MM-DD
    window_id        text    NOT NULL DEFAULT '',
    created_at       bigint  NOT NULL,    -- unix nanoseconds
    answered_at      bigint  NOT NULL DEFAULT 0,
    deadline         bigint  NOT NULL DEFAULT 0,
    late_result      text    NOT NULL DEFAULT '',
    late_at          bigint  NOT NULL DEFAULT 0,
    late_action      text    NOT NULL DEFAULT '',
    late_due         bigint  NOT NULL DEFAULT 0  -- a slow simulated destination's credit still to come after the refund
) WITH (fillfactor = 50);
-- No index names a column an answer changes (nor has a predicate over one), so every update stays HOT: the
-- pending ones are found at start by a scan, as the late ones for the operator's report of all days.
CREATE INDEX shahab_transfers_created ON shahab_transfers (created_at, id);

-- Cards the switch knows more of than their book says: wrong second PINs in a row, and a card blocked for them.
CREATE TABLE shahab_cards (
    pan        text    PRIMARY KEY,
    wrong_pin2 integer NOT NULL,
    blocked    boolean NOT NULL
);
