"""The approval report: a PDF an auditor can read without Papyr — fields, findings, decisions, trail."""

from shared.reports.render import render_approval_html, render_approval_report

__all__ = ["render_approval_html", "render_approval_report"]
