"""The project's own exceptions.

Each one carries enough context (file, line, field, draft id) for the CLI and the API to
tell the user what went wrong and where, without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SamdeskError(Exception):
    """Base class: anything the user can act on."""

    http_status = 400


class ConfigError(SamdeskError):
    """A setting is missing or unusable; the message says which and how to fix it."""

    http_status = 500


class InputError(SamdeskError):
    """One item of an input file is malformed; the rest of the file still loads."""

    http_status = 422

    def __init__(self, path: Path | str, line: int | None, field: str | None, problem: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field '{field}'" if field else ""
        super().__init__(f"{where}:{what} {problem}".replace(": ", ": ", 1))


class LLMError(SamdeskError):
    """The model could not be reached or kept failing after the allowed retries."""

    http_status = 503


class ModelUnavailableError(LLMError):
    """No usable answer within the retry policy: timed out, refused, 5xx, 429 or a garbled reply.

    The message says what happened, how many attempts were made and over how long.
    """


class DraftSchemaError(LLMError):
    """The model's reply did not match the draft schema, even after a retry."""


class NotFoundError(SamdeskError):
    """A draft, account or signal that does not exist."""

    http_status = 404


class StateError(SamdeskError):
    """An action that the draft's current state forbids (e.g. sending an unapproved draft)."""

    http_status = 409


class ConflictError(StateError):
    """The draft changed since the caller read it (optimistic concurrency).

    ``current``, when known, describes the change the caller missed (version, text, who and
    when), so a client can show it instead of asking the user to reload blindly.
    """

    def __init__(self, message: str, current: dict[str, Any] | None = None):
        super().__init__(message)
        self.current = current


class PreconditionFailedError(ConflictError):
    """An HTTP ``If-Match`` named a version of the draft that is no longer current."""

    http_status = 412


class SendError(SamdeskError):
    """Delivery failed; the outbox row records why."""

    http_status = 502


class DatabaseUnavailableError(SamdeskError):
    """The database refused a write (full, locked, unreachable); nothing of it was saved."""

    http_status = 503


class RateLimitedError(SamdeskError):
    """Too many requests of one kind (e.g. failed sign-ins); ``retry_after_s`` says when the
    caller may try again (the HTTP ``Retry-After`` header)."""

    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s
