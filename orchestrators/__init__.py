"""Durable Functions orchestrators: generators, deterministic, shared by both hosts."""
