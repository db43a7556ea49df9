"""Papyr core, shared by the Function App and the embedded host. Imports no Azure host code."""
