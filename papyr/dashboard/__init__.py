"""The review dashboard: server-rendered pages over the same records the API serves."""

from papyr.dashboard.views import STATIC_DIR, TEMPLATES_DIR, dashboard_routes

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "dashboard_routes"]
