"""The HTTP API, framework-neutral: ``http`` holds the request/response types, ``routes`` the
route table both hosts (the Function App and the local server) serve under ``/api/``."""
