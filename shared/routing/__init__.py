"""Routing: auto-approve, one approver or two, by amount, document type and findings."""

from shared.routing.policy import RoutingPolicy
from shared.routing.rules import route

__all__ = ["RoutingPolicy", "route"]
