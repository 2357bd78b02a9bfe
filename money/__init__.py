"""Money: the PostgreSQL ledger of COD and fees, the ledger workers, and the postman's cash close."""
