-- Ledger ingest (issue 23): the same rules as 0001-0003, each checked for less work per row (docs/money.md).

-- Account names: exactly the set of 0003, checked without the regular expression engine, which cost more than
-- the rest of an entry's insert. Fixed names first: most entries go to them. A SQL function of one expression,
-- so PostgreSQL inlines it into the CHECK; a later migration adding an account replaces the function.
CREATE FUNCTION ledger_account_ok(account text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN account IN ('revenue:shipping', 'revenue:cod_fee', 'revenue:insurance', 'vat:payable',
                     'card_settlement:shaparak', 'post:clearing', 'bank:payouts') THEN true
    -- shop:<digits>:payable
    WHEN account LIKE 'shop:%:payable' THEN translate(account, '0123456789', '') = 'shop::payable'
                                            AND account <> 'shop::payable'
    -- postman:<name>:<name>:cash and office:<name>:cash, a name of [A-Za-z0-9_.-]+: once the name characters
    -- are gone, only the colons remain, and no two of them meet
    WHEN account LIKE 'postman:%:cash' THEN
        translate(account, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-', '') = ':::'
        AND account NOT LIKE '%::%'
    WHEN account LIKE 'office:%:cash' THEN
        translate(account, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-', '') = '::'
        AND account NOT LIKE '%::%'
    ELSE false
END $$;
ALTER TABLE entries DROP CONSTRAINT entries_account_check;
ALTER TABLE entries ADD CONSTRAINT entries_account_check CHECK (ledger_account_ok(account));

-- Every posting balances, checked at commit: once per statement that wrote postings rather than once per
-- posting. A constraint trigger is always per row, so each such statement leaves one row here (the range of
-- the ids it wrote, from its transition table) whose deferred trigger checks them all in one query. The row is
-- removed by its own check; the table is unlogged, as it never holds anything past a transaction.
CREATE UNLOGGED TABLE ledger_balance_checks (
    xact  xid8   NOT NULL DEFAULT pg_current_xact_id(),
    low   bigint NOT NULL,
    high  bigint NOT NULL
);
CREATE TRIGGER ledger_balance_checks_fixed BEFORE UPDATE OR TRUNCATE ON ledger_balance_checks
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

DROP TRIGGER posting_balances ON postings;
DROP FUNCTION ledger_posting_balances();

CREATE FUNCTION ledger_postings_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the check below and entries_own_posting find a transaction's postings by their xact: it must be the
    -- transaction that writes them
    IF EXISTS (SELECT 1 FROM new_postings WHERE xact <> pg_current_xact_id()) THEN
        RAISE EXCEPTION 'a posting''s xact is the transaction that writes it'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_xact';
    END IF;
    INSERT INTO ledger_balance_checks (low, high)
        SELECT min(id), max(id) FROM new_postings HAVING count(*) > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_written AFTER INSERT ON postings REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_written();

-- NEW is the row as its statement inserted it, whatever happened to it since. The range holds every posting
-- of the statement and maybe others of the transaction (checked too: all must balance at commit). The entries
-- of the range are summed in one pass of their primary key and joined to the postings by merge or hash: a
-- nested loop would sum the whole range again for each posting, so the function forbids it. Once checked, a
-- posting takes no more entries (ledger_entries_own_posting reads barid.balanced_upto).
CREATE FUNCTION ledger_balance_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.id, coalesce(s.n, 0) AS n, coalesce(s.total, 0) AS total INTO bad
      FROM postings p
      LEFT JOIN (SELECT e.posting_id, count(*) AS n, sum(e.amount) AS total FROM entries e
                  WHERE e.posting_id BETWEEN NEW.low AND NEW.high GROUP BY e.posting_id) AS s ON s.posting_id = p.id
     WHERE p.id BETWEEN NEW.low AND NEW.high AND p.xact = NEW.xact AND (s.n IS NULL OR s.n < 2 OR s.total <> 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting % does not balance: % entries summing to % rials', bad.id, bad.n, bad.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'posting_balances';
    END IF;
    PERFORM set_config('barid.balanced_upto', greatest(NEW.high,
        coalesce(nullif(current_setting('barid.balanced_upto', true), ''), '0')::bigint)::text, true);
    DELETE FROM ledger_balance_checks WHERE xact = NEW.xact AND low = NEW.low AND high = NEW.high;
    RETURN NULL;
END $$ SET enable_nestloop = off;
CREATE CONSTRAINT TRIGGER posting_balances AFTER INSERT ON ledger_balance_checks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_balance_check();
