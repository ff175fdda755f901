"""Ingest account plans and signals, index them, and search them per account."""
