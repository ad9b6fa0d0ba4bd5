"""The OpenAPI description of the routes mounted beside the CRM's on the same application.

Built from the routes' own models (the ticket's body from `agent_gateway.desk.http`, /health's
answer from `hotline_cli.status_api`), so the document follows them.
"""

from __future__ import annotations

from pydantic import BaseModel

from agent_gateway.desk.http import TicketIn
from crm.api.openapi import Operation
from hotline_cli.status_api import HealthOut


class DeskUserOut(BaseModel):
    id: int
    name: str
    role: str
    extension: str | None


class TicketOut(BaseModel):
    ticket: str
    ws_url: str
    expires_at: float
    user: DeskUserOut


DOCUMENTED = (
    Operation(
        "POST", "/api/desk/ticket",
        "Trade a CRM bearer token for a short signed websocket ticket (desktops)",
        "Roles: agent, supervisor, admin (department handlers have no desktop)",
        body=TicketIn, body_required=False, response=TicketOut,
        errors={
            "400": "Invalid body (field named)",
            "401": "Missing or unknown bearer token",
            "403": "Department handlers have no agent desktop, or the extension asked for is "
            "not this agent's (not_your_extension)",
            "409": "This agent user is bound to no configured agent (no_agent_binding, "
            "unknown_extension)",
            "429": "Too many bad tokens from this address: wait Retry-After seconds",
            "503": "Redis is unreachable: no ticket can be issued now",
        },
    ),
    Operation(
        "GET", "/health", "The running hotline's health (no personal data)",
        response=HealthOut, bearer=False,
        also={"503": "The AMI link is down, or the call process has stopped reporting"},
    ),
)  # fmt: skip
