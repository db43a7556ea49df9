"""Who is calling: the signed-in person (or the signed action behind a Teams card) and their roles.

Hosts resolve a ``Principal`` from the request (a dashboard session cookie locally, the App
Service authentication headers or an Entra ID bearer token on Azure) and hand it to handlers on
``ApiRequest.principal``; handlers check roles, never headers.
"""

from shared.auth.principal import AuthMethod, Principal, Role

__all__ = ["AuthMethod", "Principal", "Role"]
