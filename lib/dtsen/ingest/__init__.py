"""Ingest: agency files -> bronze (as received) -> silver (validated, standardized, pseudonymized)."""
