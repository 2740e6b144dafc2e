"""The embedded DuckDB engine (Tessera's default)."""
