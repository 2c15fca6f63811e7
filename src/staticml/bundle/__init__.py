"""The artifact directory: manifest, file hashes, atomic writes."""
