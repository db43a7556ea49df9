"""Reading the approval policy file (YAML or JSON) with errors a person can act on.

Every problem names the file, the place inside it and what is wrong, one per line:
``policy.yaml: rules[2].levels[0]: at least one approver``. Indexes count from 0, as in JSON paths.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.routing.policy import ApprovalPolicy, default_policy
from shared.settings import Settings


class PolicyError(ValueError):
    """The policy file cannot be used; ``problems`` are the lines of the message, each naming the file."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = [f"{source}: {problem}" for problem in problems]
        super().__init__("\n".join(self.problems))


def parse_policy(text: str, source: str) -> ApprovalPolicy:
    """Validate a policy from its text; ``source`` (the file name) says which syntax and prefixes errors."""
    data = _load_json(text, source) if source.lower().endswith(".json") else _load_yaml(text, source)
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        problem = f"the policy must be a mapping of keys (auto_approve_below, rules, ...), got {kind}"
        raise PolicyError(source, [problem])
    try:
        # Through JSON, validated strictly: "yes" is not a boolean, "24" is not a number of hours.
        return ApprovalPolicy.model_validate_json(json.dumps(data, default=_iso))
    except ValidationError as error:
        problems = [_problem(e) for e in error.errors()]
        raise PolicyError(source, list(dict.fromkeys(problems))) from None  # a union reports once per branch


def load_policy(path: Path) -> ApprovalPolicy:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(path), ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(str(path), [f"cannot read it: {error}"]) from None
    return parse_policy(text, str(path))


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], ApprovalPolicy]] = {}


def current_policy(settings: Settings) -> ApprovalPolicy:
    """The policy in force: the file ``PAPYR_APPROVAL_POLICY`` names (re-read when it changes), else
    the one built from the settings. Raises PolicyError when the file is broken: an invoice is never
    routed by a policy other than the one its administrator wrote."""
    path = settings.approval_policy
    if path is None:
        return default_policy(settings)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise PolicyError(str(path), ["no such file (PAPYR_APPROVAL_POLICY)"]) from None
    version = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
    policy = load_policy(path)
    with _cache_lock:
        _cache[path] = (version, policy)
    return policy


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise PolicyError(source, [f"{where}not valid YAML: {error.problem or error}"]) from None
    except yaml.YAMLError as error:
        raise PolicyError(source, [f"not valid YAML: {error}"]) from None


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(source, [f"line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}"]) from None


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in a policy")


_UNION_BRANCHES = frozenset({"str", "datetime", "date", "decimal", "float", "int"})


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _UNION_BRANCHES or part.startswith(("function-", "list[", "constrained-str")):
            continue  # pydantic's name for a union branch or validator, not a key in the file
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


_MESSAGES = {
    "missing": "required",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "float_type": "must be a number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys",
    "dict_type": "must be a mapping of keys",
}
_WHEN = "must be a date (2025-08-01) or a date-time with an offset (2025-08-01T09:00:00+02:00)"
_MESSAGES.update({kind: _WHEN for kind in (
    "date_type", "datetime_type", "date_parsing", "datetime_parsing", "date_from_datetime_parsing",
    "datetime_from_date_parsing", "date_from_datetime_inexact",
)})


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _problem(error: Any) -> str:
    kind, loc, context = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{_path(loc)}: unknown key (check the spelling; see samples/approval-policy.yaml)"
    if kind == "value_error":
        message = str(context.get("error", error["msg"]))
    elif kind == "literal_error":
        message = f"must be {context.get('expected')}"
    elif kind == "too_short":
        message = "must not be empty" if context.get("min_length") == 1 else error["msg"]
    elif kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        message = f"must be {words} {context.get(key):g}"
    else:
        message = _MESSAGES.get(kind, error["msg"])
    return f"{_path(loc)}: {message}"


def _plain_numbers(value: Any) -> Any:
    """Decimals as YAML numbers (1000, 12.5), not strings; amounts have few digits, so float's
    shortest repr writes them back exactly."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(item) for item in value]
    return value


def policy_to_yaml(policy: ApprovalPolicy) -> str:
    """The policy as a file would write it (keys in the model's order, defaults shown)."""
    data = policy.model_dump(mode="python", by_alias=True, exclude_none=True)
    for rule in data["rules"]:  # written the short way a person would: no empty "when", one person bare
        if not rule["when"]:
            del rule["when"]
        rule["levels"] = [level[0] if len(level) == 1 else level for level in rule["levels"]]
    text: str = yaml.safe_dump(_plain_numbers(data), sort_keys=False, allow_unicode=True,
                           default_flow_style=None, width=110)
    return text
