-- Remittances: what the post pays each shop, per payout day, line by line (docs/remittances.md), and the shops'
-- disputes that hold an amount until resolved.

-- Payouts leave through the post's bank account: a paid remittance debits the shop's payable and credits it.
ALTER TABLE entries DROP CONSTRAINT entries_account_check;
ALTER TABLE entries ADD CONSTRAINT entries_account_check CHECK (account ~ '^(shop:[0-9]+:payable|postman:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:cash|office:[A-Za-z0-9_.-]+:cash|card_settlement:shaparak|revenue:(shipping|cod_fee|insurance)|vat:payable|post:clearing|bank:payouts)$');
ALTER TABLE postings DROP CONSTRAINT postings_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_kind_check CHECK (kind IN ('booking', 'cod_collected', 'cancellation',
    'return', 'adjustment', 'cash_close', 'payout'));

-- When a parcel was delivered, to the second (the settlement cycle counts from it); NULL for rows written
-- before this column existed (their business_date stands in).
ALTER TABLE deliveries ADD COLUMN delivered_at timestamptz;
CREATE INDEX deliveries_shop ON deliveries (shop_id, business_date);

CREATE TABLE remittance_runs (
    id          bigserial PRIMARY KEY,
    as_of       date NOT NULL,          -- the payout day the run acts as
    made_by     text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    shops       integer NOT NULL DEFAULT 0,
    remittances integer NOT NULL DEFAULT 0,
    total       bigint NOT NULL DEFAULT 0
);

CREATE TABLE remittances (
    id          text PRIMARY KEY,       -- money/remittance.py remittance_id(shop, period): the same run, the same id
    run_id      bigint NOT NULL REFERENCES remittance_runs (id),
    shop_id     bigint NOT NULL,
    period      date NOT NULL,          -- the payout day
    status      text NOT NULL CHECK (status IN ('scheduled', 'sent', 'paid', 'failed', 'held')),
    hold_reason text CHECK (hold_reason IN ('unverified_account', 'open_dispute')),
    sheba       text,                   -- the account it is paid to, as it was when the remittance was made
    count       integer NOT NULL CHECK (count > 0),
    collected   bigint NOT NULL,
    shipping    bigint NOT NULL,
    cod_fee     bigint NOT NULL,
    insurance   bigint NOT NULL,
    vat         bigint NOT NULL,
    total       bigint NOT NULL,        -- the net paid: collected less every fee
    bank_ref    text,
    posting_id  bigint REFERENCES postings (id),  -- the payout posting, once paid
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shop_id, period),
    CHECK (total = collected - shipping - cod_fee - insurance - vat)
);
CREATE INDEX remittances_shop ON remittances (shop_id, period DESC);
CREATE INDEX remittances_open ON remittances (status) WHERE status <> 'paid';

CREATE TABLE remittance_lines (
    tracking_number text PRIMARY KEY,   -- a parcel is in one remittance at most: never paid twice
    remittance_id   text NOT NULL REFERENCES remittances (id),
    delivered_at    timestamptz NOT NULL,
    collected       bigint NOT NULL,
    shipping        bigint NOT NULL,
    cod_fee         bigint NOT NULL,
    insurance       bigint NOT NULL,
    vat             bigint NOT NULL,
    net             bigint NOT NULL,
    CHECK (net = collected - shipping - cod_fee - insurance - vat)
);
CREATE INDEX remittance_lines_remittance ON remittance_lines (remittance_id, delivered_at, tracking_number);

-- Every status a remittance went through, with who moved it and the bank's reference.
CREATE TABLE remittance_history (
    remittance_id text NOT NULL REFERENCES remittances (id),
    status        text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    made_by       text NOT NULL,
    bank_ref      text,
    note          text
);
CREATE INDEX remittance_history_remittance ON remittance_history (remittance_id, at);

CREATE TABLE disputes (
    id              bigserial PRIMARY KEY,
    shop_id         bigint NOT NULL,
    tracking_number text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('not_remitted', 'wrong_amount')),
    claimed_amount  bigint CHECK (claimed_amount IS NULL OR claimed_amount >= 0),
    held_amount     bigint NOT NULL DEFAULT 0 CHECK (held_amount >= 0),
    note            text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'rejected')),
    resolution      text,
    resolved_by     text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
-- One open dispute per parcel; a parcel under an open dispute stays out of every remittance until resolved.
CREATE UNIQUE INDEX disputes_one_open ON disputes (tracking_number) WHERE status = 'open';
CREATE INDEX disputes_shop ON disputes (shop_id, status, opened_at DESC);
