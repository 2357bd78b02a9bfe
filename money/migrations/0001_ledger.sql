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

-- Every posting balances: checked at commit (deferred), so its entries may arrive in several statements. The
-- check fires once per posting, but the first one of a transaction checks every posting the transaction wrote
-- from it on in one query and notes how far it got (a transaction-local setting): the others return at once.
-- An entry may never join a posting already checked (ledger_entries_own_posting), so nothing escapes.
CREATE FUNCTION ledger_posting_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    upto bigint := coalesce(nullif(current_setting('barid.balanced_upto', true), ''), '0')::bigint;
    top  bigint;
    bad  record;
BEGIN
    IF NEW.id <= upto THEN
        RETURN NULL;
    END IF;
    SELECT max(id) INTO top FROM postings WHERE id >= NEW.id AND xact = pg_current_xact_id();
    SELECT p.id, count(e.line) AS n, coalesce(sum(e.amount), 0) AS total INTO bad
      FROM postings p LEFT JOIN entries e ON e.posting_id = p.id
     WHERE p.id BETWEEN NEW.id AND top AND p.xact = pg_current_xact_id()
     GROUP BY p.id
    HAVING count(e.line) < 2 OR coalesce(sum(e.amount), 0) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting % does not balance: % entries summing to % rials', bad.id, bad.n, bad.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_balances';
    END IF;
    PERFORM set_config('barid.balanced_upto', top::text, true);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER posting_balances AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balances();

-- An entry joins only an existing posting of its own transaction: a committed posting is closed for good.
CREATE FUNCTION ledger_entries_own_posting() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    n   int;
BEGIN
    -- an array, so the lookup is by primary key whatever the planner guesses of the transition table's size
    ids := ARRAY(SELECT DISTINCT posting_id FROM new_entries ORDER BY posting_id);
    SELECT count(*) INTO n FROM postings WHERE id = ANY (ids) AND xact = pg_current_xact_id();
    IF n <> cardinality(ids) OR ids[1] <= coalesce(nullif(current_setting('barid.balanced_upto', true), ''),
                                                  '0')::bigint THEN
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
