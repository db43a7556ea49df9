"""The Azure Functions entry point: a Durable Functions app composed of the blueprints in
``functions/`` (HTTP API, document intake, orchestration and activities).

Everything it runs lives in the host-neutral core (``shared``, ``orchestrators``); the embedded
host (``papyr serve``) runs the same routes, orchestrator and activities without Azure.
"""

import azure.durable_functions as df
import azure.functions as func

from functions import http_api, intake, mailboxes, orchestration

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (http_api.bp, intake.bp, orchestration.bp, mailboxes.bp):
    app.register_functions(blueprint)
