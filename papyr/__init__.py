"""Papyr's local host: the CLI, the local server and the embedded orchestration engine."""
