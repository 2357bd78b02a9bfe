-- The postman's daily cash close (money/closing.py). One per (office, postman, day): a second is refused.
CREATE TABLE cash_closings (
    id            bigserial PRIMARY KEY,
    office        text NOT NULL,
    postman       text NOT NULL,
    business_date date NOT NULL,
    declared      bigint NOT NULL CHECK (declared >= 0),
    expected      bigint NOT NULL,
    variance      bigint NOT NULL,
    exceptions    jsonb NOT NULL DEFAULT '[]',
    posting_id    bigint REFERENCES postings (id),
    closed_by     text NOT NULL,
    closed_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (office, postman, business_date)
);
CREATE TABLE cash_closing_parcels (
    closing_id      bigint NOT NULL REFERENCES cash_closings (id),
    tracking_number text NOT NULL,
    amount          bigint
);
CREATE INDEX cash_closing_parcels_tn ON cash_closing_parcels (tracking_number);

CREATE TRIGGER cash_closings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON cash_closings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
