"""The embedded host's adapters: blobs as files under a folder, records in SQLite."""
