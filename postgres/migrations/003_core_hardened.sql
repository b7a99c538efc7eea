-- The core hardened (issue 6): codes that fit every uint16, links to the rails' objects, remembered
-- rejections, rail rows written with the money, the floor as the default, and the indexes the look-ups and a
-- window-bounded start-up need.

-- A transfer code is a uint16: smallint held only half of them and read 32,768 and above back negative.
ALTER TABLE transfers ALTER COLUMN code TYPE integer;
UPDATE transfers SET code = code & 65535 WHERE code < 0;
ALTER TABLE transfers ADD CONSTRAINT transfers_code_uint16 CHECK (code BETWEEN 0 AND 65535);
-- The rail's object that caused the transfer (an order, entry or card transfer id).
ALTER TABLE transfers ADD COLUMN user_data uuid;

-- Start-up loads the transfers of the retention window (by ts) and every active pending transfer; an
-- account's transfers are read in time order, paged, through account_batches (migration 005) and this index.
CREATE INDEX transfers_ts ON transfers (ts);
CREATE INDEX pending_transfers_active ON pending_transfers (id) WHERE state = 1;

-- Bit 0 of accounts.flags meant "must not go negative"; it now means the opposite, "allowed to go negative"
-- (ledger.FlagNegativeAllowed), so that an account created without flags has the floor.
UPDATE accounts SET flags = flags # 1;
-- The rail's name for the account (a SHEBA, a PAN), unique per ledger.
ALTER TABLE accounts ADD COLUMN external_key text;
CREATE UNIQUE INDEX accounts_ledger_external_key ON accounts (ledger, external_key) WHERE external_key IS NOT NULL;

-- Rejections are remembered (TigerBeetle's id_already_failed): a repeat of the id answers the same code for
-- ever. result is ledger.Result's stable name, so codes may be renumbered in code without touching rows.
CREATE TABLE rejected_transfers (
    id     uuid   PRIMARY KEY,
    result text   NOT NULL,
    at     bigint NOT NULL -- unix nanoseconds, the batch's time
);
CREATE INDEX rejected_transfers_at ON rejected_transfers (at);

-- The rails' own rows (order, entry, mandate statuses), written in the same transaction as the money that
-- moves with them, so that an object's status and its money never disagree after a crash.
CREATE TABLE rail_objects (
    kind        text   NOT NULL,
    id          text   NOT NULL,
    status      text   NOT NULL,
    body        jsonb  NOT NULL DEFAULT '{}',
    transfer_id uuid,            -- the transfer whose application wrote this version, when tied to one
    updated_at  bigint NOT NULL, -- unix nanoseconds, the batch's time
    PRIMARY KEY (kind, id)
);
