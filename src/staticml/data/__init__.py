"""Data contracts: input schema and row encoding (later: fingerprint, profile, drift)."""
