"""Refusals the CRM reports to its callers, each with a stable code and an HTTP status.

Use cases raise these; the API turns them into ``{"error": {"code", "message", "field"}}``
(with the refusal's `extra` members beside them: a document's errors, the current version).
"""

from collections.abc import Mapping
from typing import Any


class CrmError(Exception):
    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = dict(extra or {})  # further members of the error body


class InvalidInput(CrmError):
    status = 400


class Unauthenticated(CrmError):
    status = 401


class Denied(CrmError):
    status = 403


class NotFound(CrmError):
    status = 404


class Conflict(CrmError):
    status = 409


class Unprocessable(CrmError):
    """A document refused as a whole: `extra["errors"]` names every bad field."""

    status = 422


class Gone(CrmError):
    """It existed and is no more: a recording removed by retention, or whose file is lost."""

    status = 410


class Throttled(CrmError):
    """Too many failed attempts from one client: try again after `retry_after` seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts", f"too many failed attempts, retry in {retry_after} s")
        self.retry_after = retry_after


class Unavailable(CrmError):
    """A part outside the CRM it needs (Asterisk) did not answer: nothing was done."""

    status = 503
