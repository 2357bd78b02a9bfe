"""Handover: what a shop needs to hand parcels to the post (printable labels)."""
