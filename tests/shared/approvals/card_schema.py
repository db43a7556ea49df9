"""The vendored official Adaptive Card 1.5 schema (see adaptive_card_schema/README.md) as a validator."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA_FILE = Path(__file__).parent / "adaptive_card_schema" / "adaptive-card-1.5.json"


@lru_cache(maxsize=1)
def validator() -> Draft6Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema, format_checker=Draft6Validator.FORMAT_CHECKER)


def schema_errors(card: Any) -> list[str]:
    """Every violation, with where it is; empty for a valid card."""
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(card)'}: {error.message}"
            for error in validator().iter_errors(card)]
