"""Routing: the approval policy (a file users edit), auto-approval, one or two approval levels,
four-eyes, delegation, and who is reminded or escalated to."""

from shared.routing.people import (
    Assignment,
    assign_approver,
    delegate_for,
    escalation_recipients,
    four_eyes_conflicts,
    reminder_recipients,
)
from shared.routing.policy import ApprovalPolicy, default_policy
from shared.routing.policy_file import PolicyError, current_policy, load_policy, parse_policy
from shared.routing.rules import RoutingFacts, matching_rule, route

__all__ = [
    "ApprovalPolicy",
    "Assignment",
    "PolicyError",
    "RoutingFacts",
    "assign_approver",
    "current_policy",
    "default_policy",
    "delegate_for",
    "escalation_recipients",
    "four_eyes_conflicts",
    "load_policy",
    "matching_rule",
    "parse_policy",
    "reminder_recipients",
    "route",
]
