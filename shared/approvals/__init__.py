"""Approvals outside Papyr: the Adaptive Card (``card``), its delivery to Teams / Power Automate
(``delivery``), and the credentials the approval callback accepts: signed action tokens
(``tokens``) and Entra ID bearer tokens (``entra``).

Import the modules themselves: the card pulls in the report's labels (and WeasyPrint with them),
which the callback does not need.
"""
