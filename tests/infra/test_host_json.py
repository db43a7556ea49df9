"""host.json: the settings issue 7 asks for are there, and the README's host.json paragraph
comments every one of them (documentation that cannot silently drift)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def host() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "host.json").read_text())
    return data


# Groups the README comments as a whole rather than key by key.
DOCUMENTED_AS_A_GROUP = {"extensionBundle", "logLevel", "clientRetryOptions", "samplingSettings"}


def leaf_keys(node: dict[str, Any]) -> Iterator[str]:
    for key, value in node.items():
        if isinstance(value, dict) and key not in DOCUMENTED_AS_A_GROUP:
            yield from leaf_keys(value)
        else:
            yield key


def test_durable_task_hub_is_tuned_for_scale_out_and_idempotent_starts() -> None:
    durable = host()["extensions"]["durableTask"]
    assert durable["hubName"] == "papyr"
    assert durable["overridableExistingInstanceStates"] == "NonRunningStates"
    assert durable["storageProvider"]["partitionCount"] == 16  # the Azure Storage provider's maximum
    assert durable["tracing"]["traceInputsAndOutputs"] is False


def test_service_bus_sessions_and_retry_and_sampling() -> None:
    data = host()
    bus = data["extensions"]["serviceBus"]
    assert bus["maxConcurrentSessions"] >= 1
    assert bus["clientRetryOptions"]["mode"] == "Exponential"
    assert data["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    sampling = data["logging"]["applicationInsights"]["samplingSettings"]
    assert sampling["isEnabled"] is True and "Exception" in sampling["excludedTypes"]


def test_readme_comments_every_host_json_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### host.json", 1)[1]
    missing = [key for key in leaf_keys(host()) if key != "version" and f"`{key}" not in section
               and f".{key}`" not in section]
    assert missing == []
