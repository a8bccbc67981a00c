"""Errors of the agent's API. Each carries the HTTP status it is answered with, so the server maps
them without a table and the client raises the same class the API raised."""

from __future__ import annotations

from companion.errors import MailwardenError


class AgentError(MailwardenError):
    title = "Agent error"
    status = 500


class BadRequest(AgentError):
    title = "Invalid request"
    status = 400


class Unauthorized(AgentError):
    title = "Not authorised"
    status = 401


class Forbidden(AgentError):
    title = "Forbidden"
    status = 403


class NotFound(AgentError):
    title = "Not found"
    status = 404


class MethodNotAllowed(AgentError):
    title = "Method not allowed"
    status = 405


class TooLarge(AgentError):
    title = "Request too large"
    status = 413


class Unavailable(AgentError):
    title = "Not available"
    status = 503


class AgentNotRunning(AgentError):
    title = "Agent not running"
    status = 503


class AlreadyRunning(AgentError):
    title = "Agent already running"
    status = 409


BY_STATUS: dict[int, type[AgentError]] = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, TooLarge, Unavailable)
}
