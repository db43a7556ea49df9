"""Adapters behind the ports in ``shared.ports``: ``local`` (files + SQLite, the embedded host) and
``azure`` (Blob Storage; the only place in ``shared`` allowed to import Azure SDKs)."""
