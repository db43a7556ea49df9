"""The review dashboard: framework-neutral page handlers both hosts serve (``build_site``)."""

from shared.dashboard.site import DashboardSite, build_site

__all__ = ["DashboardSite", "build_site"]
