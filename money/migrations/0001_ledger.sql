-- The ledger: double entry in integer rials, append-only (docs/money.md).
-- Amounts are signed: a debit is positive, a credit negative; every posting's entries sum to zero.

CREATE TABLE postings (
    id              bigserial PRIMARY KEY,
    -- the outbox event it books; UNIQUE: the same event never posts twice. NULL for manual adjustments.
    event_id        text UNIQUE,
    kind            text NOT NULL CHECK (kind IN ('booking', 'cod_collected', 'cancellation', 'return',
                                                  'adjustment', 'cash_close')),
    shop_id         bigint,
    tracking_number text,
    office          text,
    postman         text,
    occurred_at     timestamptz NOT NULL,
    business_date   date NOT NULL,  -- the Iranian calendar day the fact happened on (Asia/Tehran)
    reason          text,
    made_by         text,
    reverses        bigint REFERENCES postings (id),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- the transaction that wrote it: entries may join a posting only in that transaction
    xact            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CHECK (kind NOT IN ('adjustment', 'cancellation') OR (reason IS NOT NULL AND made_by IS NOT NULL))
);
CREATE INDEX postings_parcel ON postings (tracking_number);
CREATE INDEX postings_cash ON postings (office, postman, business_date) WHERE kind = 'cod_collected';

CREATE TABLE entries (
    -- no foreign key: entries_own_posting (below) checks every entry's posting once per statement, which also
    -- proves it exists, and postings are never deleted; a per-row key check would cost more than the insert.
    posting_id bigint NOT NULL,
    line       smallint NOT NULL,
    account    text NOT NULL CHECK (account ~ '^(shop:[0-9]+:payable|postman:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:cash|office:[A-Za-z0-9_.-]+:cash|card_settlement:shaparak|revenue:(shipping|cod_fee|insurance)|vat:payable|post:clearing)$'),
    amount     bigint NOT NULL CHECK (amount <> 0),
    rrn        text CHECK (rrn IS NULL OR rrn ~ '^[0-9]{12}$'),
    PRIMARY KEY (posting_id, line)
);
CREATE INDEX entries_account ON entries (account);

-- Every posting balances: checked at commit (deferred), so its entries may arrive in several statements.
CREATE FUNCTION ledger_posting_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    n     int;
BEGIN
    SELECT coalesce(sum(amount), 0), count(*) INTO total, n FROM entries WHERE posting_id = NEW.id;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'posting % does not balance: % entries summing to % rials', NEW.id, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_balances';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER posting_balances AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balances();

-- An entry joins only an existing posting of its own transaction: a committed posting is closed for good.
CREATE FUNCTION ledger_entries_own_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries e WHERE NOT EXISTS (
                   SELECT 1 FROM postings p WHERE p.id = e.posting_id AND p.xact = pg_current_xact_id())) THEN
        RAISE EXCEPTION 'entries may not be added to a committed posting; post a correction'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_closed';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_own_posting AFTER INSERT ON entries REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_own_posting();

-- Append-only: nothing is ever updated, deleted or truncated; a correction is a new posting.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused; post a correction instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Facts the cash close needs beyond the postings: how each parcel is paid (from its booking) and where and
-- when it was delivered. Written once per parcel by the ledger workers (first writer wins).
CREATE TABLE parcels (
    tracking_number text PRIMARY KEY,
    shop_id         bigint NOT NULL,
    payment_type    text NOT NULL,
    cod_amount      bigint NOT NULL DEFAULT 0,
    delivering_office text
);
CREATE TABLE deliveries (
    tracking_number text PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    shop_id         bigint NOT NULL,
    office          text NOT NULL,
    business_date   date NOT NULL,
    cod_amount      bigint NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_office_day ON deliveries (office, business_date);
