"""Barid's booking gateway: shops book COD and prepaid parcels over HTTP on a Redis-protocol store."""
