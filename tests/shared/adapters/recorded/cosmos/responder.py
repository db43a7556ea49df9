"""A Cosmos-shaped HTTP responder behind azure-core's transport seam: answers the documented REST
shapes in this folder (database account, collection, partition key ranges, query plan, errors)
and keeps documents in memory, so the real azure-cosmos SDK runs unpatched against it.

It behaves like the gateway for what the repository uses: create (409 on an existing id), upsert,
read, replace (412 when If-Match differs from the stored _etag), queries (equality filters joined
by AND, ORDER BY, TOP; a cross-partition ORDER BY / TOP answers 400 / substatus 1004 with a query
plan, as the gateway does), and an x-ms-request-charge on every answer (request_charges.json).
Anything else it refuses with a 400, so an unexpected request fails the test instead of passing.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport

RECORDED = Path(__file__).parent
ENDPOINT = "https://papyr-test.documents.azure.com:443/"


def _shape(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    request_charge: float = 0.0

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class _Response(HttpResponse):
    def __init__(self, request: HttpRequest, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.headers = headers
        self.reason = "OK" if status < 400 else "Error"
        self.content_type = headers.get("Content-Type", "application/json")
        self._body = body

    def body(self) -> bytes:
        return self._body


class _Answer(Exception):
    """Raised inside a handler to answer at once (errors)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str], charge: float = 0.0) -> None:
        super().__init__(status)
        self.status, self.body, self.headers, self.charge = status, body, headers, charge


@dataclass
class _Container:
    name: str
    partition_key_path: str
    rid: str
    documents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (pk value, id) → doc


class CosmosShapedTransport(HttpTransport):
    """An in-memory account with one database; ``containers`` maps name → partition key path."""

    def __init__(self, database: str, containers: dict[str, str]) -> None:
        self.database = database
        self.endpoint = ENDPOINT  # what the account answer names as its regional endpoint
        self.containers = {
            name: _Container(name, path, rid=f"{i:08d}AAAAAA=") for i, (name, path) in enumerate(containers.items())
        }
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._charges = _shape("request_charges")
        self._errors = _shape("errors")

    # -- HttpTransport -------------------------------------------------------------------------

    def __enter__(self) -> CosmosShapedTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        raw = request.data if request.data is not None else request.body
        body = json.loads(raw) if raw else None
        recorded = RecordedRequest(request.method, urlsplit(request.url).path, dict(request.headers), body)
        with self._lock:
            try:
                status, payload, headers, charge = self._handle(recorded)
            except _Answer as answer:
                status, payload, headers, charge = answer.status, answer.body, answer.headers, answer.charge
            recorded.status, recorded.request_charge = status, charge
            self.requests.append(recorded)
        headers = {
            "Content-Type": "application/json",
            "x-ms-activity-id": str(uuid.uuid4()),
            "x-ms-session-token": "0:1#1",
            **headers,
            "x-ms-request-charge": f"{charge:.2f}",
        }
        return _Response(request, status, headers, json.dumps(payload).encode() if payload is not None else b"")

    # -- inspection ----------------------------------------------------------------------------

    def document_requests(self) -> list[RecordedRequest]:
        """Requests on documents (not the metadata the SDK reads once and caches)."""
        return [r for r in self.requests if "/docs" in r.path]

    def stored(self, container: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(document) for document in self.containers[container].documents.values()]

    # -- routing -------------------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> tuple[int, Any, dict[str, str], float]:
        parts = [unquote(part) for part in request.path.strip("/").split("/") if part]
        if not parts and request.method == "GET":
            shape = _shape("database_account")
            return shape["status"], _fill(shape["body"], endpoint=self.endpoint), shape["headers"], 0.0
        if len(parts) < 4 or parts[0] != "dbs" or parts[1] != self.database or parts[2] != "colls":
            raise self._error("not_found")
        container = self.containers.get(parts[3])
        if container is None:
            raise self._error("not_found")
        rest = parts[4:]
        if not rest and request.method == "GET":
            return self._collection(container)
        if rest == ["pkranges"] and request.method == "GET":
            return self._partition_key_ranges(container, request)
        if rest == ["docs"] and request.method == "POST":
            if _flag(request, "x-ms-cosmos-is-query-plan-request") or _flag(request, "x-ms-documentdb-isquery"):
                return self._query(container, request)
            return self._write(container, request)
        if len(rest) == 2 and rest[0] == "docs":
            if request.method == "GET":
                return self._read(container, request, rest[1])
            if request.method == "PUT":
                return self._replace(container, request, rest[1])
        raise self._bad_request(f"the fake does not serve {request.method} {request.path}")

    def _collection(self, container: _Container) -> tuple[int, Any, dict[str, str], float]:
        shape = _shape("collection")
        body = _fill(
            shape["body"], coll=container.name, path=container.partition_key_path, rid=container.rid, dbrid="AAAAAA=="
        )
        return shape["status"], body, shape["headers"], 0.0

    def _partition_key_ranges(
        self, container: _Container, request: RecordedRequest
    ) -> tuple[int, Any, dict[str, str], float]:
        shape = _shape("partition_key_ranges")
        if request.header("If-None-Match") == shape["headers"]["etag"]:
            return 304, None, {"etag": shape["headers"]["etag"]}, 0.0
        return shape["status"], _fill(shape["body"], rid=container.rid, dbrid="AAAAAA=="), shape["headers"], 0.0

    # -- documents -----------------------------------------------------------------------------

    def _partition_key(self, request: RecordedRequest) -> str | None:
        header = request.header("x-ms-documentdb-partitionkey")
        if header is None:
            return None
        values = json.loads(header)
        return str(values[0])

    def _write(self, container: _Container, request: RecordedRequest) -> tuple[int, Any, dict[str, str], float]:
        document = request.body
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise self._bad_request("a document needs a string id")
        _check_id(document["id"], self)
        key = self._document_key(container, request, document)
        upsert = _flag(request, "x-ms-documentdb-is-upsert")
        existing = container.documents.get(key)
        if existing is not None and not upsert:
            raise self._error("conflict", charge=self._charges["failed_precondition_or_conflict_ru"])
        if existing is not None:
            self._check_if_match(request, existing)
        stored = self._store(container, key, document)
        return (200 if existing is not None else 201), stored, {"etag": stored["_etag"]}, self._write_charge(stored)

    def _replace(
        self, container: _Container, request: RecordedRequest, document_id: str
    ) -> tuple[int, Any, dict[str, str], float]:
        document = request.body
        if not isinstance(document, dict) or document.get("id") != document_id:
            raise self._bad_request("the id in the body must match the id in the path")
        key = self._document_key(container, request, document)
        existing = container.documents.get(key)
        if existing is None:
            raise self._error("not_found", charge=self._charges["not_found_ru"])
        self._check_if_match(request, existing)
        stored = self._store(container, key, document)
        return 200, stored, {"etag": stored["_etag"]}, self._write_charge(stored)

    def _read(
        self, container: _Container, request: RecordedRequest, document_id: str
    ) -> tuple[int, Any, dict[str, str], float]:
        partition_key = self._partition_key(request)
        if partition_key is None:
            raise self._bad_request("a point read needs x-ms-documentdb-partitionkey")
        existing = container.documents.get((partition_key, document_id))
        if existing is None:
            raise self._error("not_found", charge=self._charges["not_found_ru"])
        charge = self._size_charge(self._charges["point_read"], _kilobytes(existing))
        return 200, existing, {"etag": existing["_etag"]}, charge

    def _document_key(
        self, container: _Container, request: RecordedRequest, document: dict[str, Any]
    ) -> tuple[str, str]:
        field_name = container.partition_key_path.lstrip("/")
        value = document.get(field_name)
        if not isinstance(value, str):
            raise self._bad_request(f"the document has no string partition key {container.partition_key_path}")
        if self._partition_key(request) != value:
            raise self._error("partition_key_mismatch")
        return value, document["id"]

    def _check_if_match(self, request: RecordedRequest, existing: dict[str, Any]) -> None:
        if_match = request.header("If-Match")
        if if_match is not None and if_match != "*" and if_match != existing["_etag"]:
            raise self._error("precondition_failed", charge=self._charges["failed_precondition_or_conflict_ru"])

    def _store(self, container: _Container, key: tuple[str, str], document: dict[str, Any]) -> dict[str, Any]:
        etag = f'"{uuid.uuid4()}"'
        stored = {
            **{k: v for k, v in document.items() if not k.startswith("_")},
            "_rid": container.rid + str(len(container.documents)),
            "_self": f"dbs/AAAAAA==/colls/{container.rid}/docs/{document['id']}/",
            "_etag": etag,
            "_attachments": "attachments/",
            "_ts": 1709283600,
        }
        container.documents[key] = stored
        return stored

    # -- queries -------------------------------------------------------------------------------

    def _query(self, container: _Container, request: RecordedRequest) -> tuple[int, Any, dict[str, str], float]:
        spec = request.body or {}
        parameters = {p["name"]: p["value"] for p in spec.get("parameters", [])}
        query = _parse_query(spec.get("query", ""), parameters, self)
        partition_key = self._partition_key(request)
        range_id = request.header("x-ms-documentdb-partitionkeyrangeid")
        if _flag(request, "x-ms-cosmos-is-query-plan-request"):
            return 200, self._query_plan(spec.get("query", ""), query), {}, self._charges["metadata_ru"]
        if partition_key is None and range_id is None and (query.order_by or query.top is not None):
            plan = json.dumps(self._query_plan(spec.get("query", ""), query))
            raise self._error("cross_partition_not_servable", query_plan=plan)
        documents = [
            document
            for (pk, _), document in container.documents.items()
            if (partition_key is None or pk == partition_key) and query.matches(document)
        ]
        for path, descending in reversed(query.order_by):
            documents.sort(key=lambda document, path=path: str(document.get(path, "")), reverse=descending)
        if query.top is not None:
            documents = documents[: query.top]
        results = [query.project(document) for document in documents]
        charge = self._charges["query"]["per_partition_ru"] + self._charges["query"]["per_kb_returned"] * sum(
            _kilobytes(document) for document in documents
        )
        body = {"_rid": container.rid, "Documents": results, "_count": len(results)}
        return 200, body, {"x-ms-item-count": str(len(results))}, round(charge, 2)

    def _query_plan(self, text: str, query: _Query) -> dict[str, Any]:
        plan = _shape("query_plan")["body"]
        info = plan["queryInfo"]
        info["top"] = query.top
        info["orderBy"] = ["Descending" if descending else "Ascending" for _, descending in query.order_by]
        info["orderByExpressions"] = [f"c.{path}" for path, _ in query.order_by]
        if query.order_by:
            items = ", ".join(f'{{"item": c.{path}}}' for path, _ in query.order_by)
            top = f"TOP {query.top} " if query.top is not None else ""
            where = " AND ".join(f"(c.{path} = {json.dumps(value)})" for path, value in query.filters) or "true"
            order = ", ".join(f"c.{path} {'DESC' if d else 'ASC'}" for path, d in query.order_by)
            info["rewrittenQuery"] = (
                f"SELECT {top}c._rid, [{items}] AS orderByItems, c AS payload "
                f"FROM c WHERE ({where}) AND ({{documentdb-formattableorderbyquery-filter}}) ORDER BY {order}"
            )
        return plan

    # -- errors and charges --------------------------------------------------------------------

    def _error(self, name: str, charge: float = 0.0, **values: str) -> _Answer:
        shape = self._errors[name]
        return _Answer(shape["status"], _fill(shape["body"], **values), dict(shape["headers"]), charge)

    def _bad_request(self, message: str) -> _Answer:
        return self._error("bad_request", message=message)

    def _write_charge(self, document: dict[str, Any]) -> float:
        return self._size_charge(self._charges["write"], _kilobytes(document))

    @staticmethod
    def _size_charge(rate: dict[str, float], kilobytes: float) -> float:
        return round(rate["base_ru"] + rate["per_kb_above_1"] * max(0.0, math.ceil(kilobytes) - 1), 2)


@contextmanager
def serve_over_http(transport: CosmosShapedTransport) -> Iterator[str]:
    """The same responder on a real loopback HTTP port, for code that builds its own client from
    settings (no transport to pass): yields the endpoint URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = HttpRequest(
                self.command,
                f"http://127.0.0.1{self.path}",
                headers=dict(self.headers.items()),
                data=self.rfile.read(length) if length else None,
            )
            response = transport.send(request)
            body = response.body()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    transport.endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield transport.endpoint
    finally:
        server.shutdown()
        server.server_close()


# -- the query subset ----------------------------------------------------------------------------

_SELECT = re.compile(
    r"^\s*SELECT\s+(?:TOP\s+(?P<top>\S+)\s+)?(?P<projection>.+?)\s+FROM\s+c"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"^c\.(?P<path>\w+)\s*=\s*(?P<value>@\w+|\".*\"|-?\d+)$")
_ORDER_BY_PROJECTION = re.compile(r"^c\._rid,\s*\[.*\]\s+AS\s+orderByItems,\s*c\s+AS\s+payload$", re.DOTALL)


@dataclass
class _Query:
    projection: str
    filters: list[tuple[str, Any]]
    order_by: list[tuple[str, bool]]  # (field, descending)
    top: int | None

    def matches(self, document: dict[str, Any]) -> bool:
        return all(document.get(path) == value for path, value in self.filters)

    def project(self, document: dict[str, Any]) -> dict[str, Any]:
        if self.projection == "*":
            return document
        return {
            "_rid": document["_rid"],
            "orderByItems": [{"item": document.get(path)} for path, _ in self.order_by],
            "payload": document,
        }


def _parse_query(text: str, parameters: dict[str, Any], transport: CosmosShapedTransport) -> _Query:
    match = _SELECT.match(text)
    if match is None:
        raise transport._bad_request(f"the fake does not understand the query {text!r}")
    projection = match["projection"].strip()
    if projection != "*" and not _ORDER_BY_PROJECTION.match(projection):
        raise transport._bad_request(f"the fake does not project {projection!r}")
    top = _value(match["top"], parameters) if match["top"] else None
    filters: list[tuple[str, Any]] = []
    for condition in _conditions(match["where"] or ""):
        parsed = _CONDITION.match(condition)
        if parsed is None:
            raise transport._bad_request(f"the fake does not understand the condition {condition!r}")
        filters.append((parsed["path"], _value(parsed["value"], parameters)))
    order_by = []
    for term in (match["order"] or "").split(","):
        if term.strip():
            words = term.split()
            order_by.append((words[0].removeprefix("c."), len(words) > 1 and words[1].upper() == "DESC"))
    return _Query(projection, filters, order_by, int(top) if top is not None else None)


def _conditions(where: str) -> Iterator[str]:
    for part in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
        condition = part.strip()
        while condition.startswith("(") and condition.endswith(")"):
            condition = condition[1:-1].strip()
        if condition and condition.lower() != "true":
            yield condition


def _value(token: str, parameters: dict[str, Any]) -> Any:
    if token.startswith("@"):
        return parameters[token]
    return json.loads(token)


# -- helpers -------------------------------------------------------------------------------------


def _fill(template: Any, **values: str) -> Any:
    """Replace {name} placeholders in every string of a recorded shape."""
    if isinstance(template, dict):
        return {key: _fill(value, **values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, **values) for value in template]
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    return template


def _flag(request: RecordedRequest, header: str) -> bool:
    return (request.header(header) or "").lower() == "true"


def _kilobytes(document: dict[str, Any]) -> float:
    return len(json.dumps(document).encode()) / 1024


def _check_id(document_id: str, transport: CosmosShapedTransport) -> None:
    if any(character in document_id for character in "/\\?#") or len(document_id) > 255:
        raise transport._bad_request(f"the id {document_id!r} contains a character Cosmos refuses or is too long")
