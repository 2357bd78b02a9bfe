"""Money: the COD ledger, cash closes, shop remittances and payout files (issue 23)."""
