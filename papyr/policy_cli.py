"""`papyr policy ...`: check an approval policy file, show the policy in force."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

policy_app = typer.Typer(help="The approval policy (PAPYR_APPROVAL_POLICY).", no_args_is_help=True)


@policy_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="A policy file (.yaml, .yml or .json).")]) -> None:
    """Validate a policy file: every problem with the place in the file, or a one-line summary."""
    from shared.routing import PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(1) from None
    levels = sum(len(rule.levels) for rule in policy.rules)
    print(f"{file}: valid: {len(policy.rules)} rules ({levels} levels), {len(policy.delegations)} delegations, "
          f"four-eyes {'on' if policy.four_eyes else 'off'}")


@policy_app.command("show")
def show(json_output: Annotated[bool, typer.Option("--json", help="JSON instead of YAML.")] = False) -> None:
    """Print the policy in force: the PAPYR_APPROVAL_POLICY file, else the one the settings describe."""
    from shared.routing import PolicyError, current_policy
    from shared.routing.policy_file import policy_to_yaml
    from shared.settings import get_settings

    settings = get_settings()
    try:
        policy = current_policy(settings)
    except (PolicyError, ValueError) as error:
        print(error, file=sys.stderr)
        raise typer.Exit(1) from None
    source = settings.approval_policy or "the settings (PAPYR_APPROVAL_POLICY is not set)"
    print(f"# the approval policy from {source}", file=sys.stderr)
    if json_output:
        print(json.dumps(policy.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
    else:
        print(policy_to_yaml(policy), end="")
