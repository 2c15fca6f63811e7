"""Verification: probe rows and parity reports (original model <-> IR <-> artifact)."""
