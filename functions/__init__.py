"""The Azure Functions host: one blueprint per domain, composed by ``function_app.py``.

Thin adapters only: every trigger translates its Azure input into the core's types and calls the
same code the embedded host runs (``shared``, ``orchestrators``). Only this package and
``shared.adapters.azure`` import Azure SDKs.
"""

from shared.telemetry import configure_telemetry

# Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set (the Function App's setting),
# else the OTEL_*_EXPORTER choice, else nothing: before any trigger runs, once per worker process.
configure_telemetry()
