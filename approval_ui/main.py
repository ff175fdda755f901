"""Build the desk's FastAPI app: database, routers, error pages and security headers."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, DBAPIError

from approval_ui import db_errors, openapi
from approval_ui.desk_cache import DeskCache
from approval_ui.etags import etag
from approval_ui.generation_reader import GenerationReader
from approval_ui.limits import BodySizeLimit
from approval_ui.login_throttle import LoginThrottle
from approval_ui.permissions import InvalidRequestError, NotAuthenticatedError
from approval_ui.routes import (  # signal intake (issue 6)
    api,
    briefings,
    draft_actions,
    outbox,
    pages,
    reports,
    session,
    timeline,
    tokens,
    users,
    webhooks,
)
from approval_ui.security_headers import SecurityHeaders
from approval_ui.sending import Sender
from approval_ui.templating import templates
from samdesk.config import Settings, get_settings
from samdesk.db import make_engine, migrate, session_factory
from samdesk.errors import ConflictError, SamdeskError

NUL_REFUSED = "cannot contain NUL"  # psycopg: "PostgreSQL text fields cannot contain NUL..."


def create_app(settings: Settings | None = None, *, sender: Sender | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        migrate(engine)
        app.state.sessions = session_factory(engine)
        app.state.cache = DeskCache()
        app.state.login_throttle = LoginThrottle.from_settings(settings)
        app.state.generation = GenerationReader(engine)
        yield
        await app.state.generation.close()
        engine.dispose()

    app = FastAPI(
        title="samdesk approval desk",
        summary="Review, edit, approve and send grounded drafts for strategic accounts.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sender = sender
    # Routes are matched in order: the queue page, which reviewers load most, goes first.
    for module in (pages, api, reports, briefings, tokens, users, session, draft_actions):
        app.include_router(module.router)
    app.include_router(webhooks.router)
    app.include_router(timeline.router)
    app.include_router(outbox.router)  # sending (issue 7): unknown sends, reopen expired
    openapi.install(app)  # the error responses every /api/ operation shares
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness for a load balancer, and the benchmarks' trivial baseline (bench/)."""
        return {"status": "ok"}

    @app.exception_handler(SamdeskError)
    async def samdesk_error(request: Request, exc: SamdeskError) -> Response:
        api_call = request.url.path.startswith("/api/")
        if isinstance(exc, NotAuthenticatedError):
            if api_call:
                return JSONResponse(
                    {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
            return RedirectResponse(f"/login?next={quote(_return_to(request))}", status_code=303)
        if api_call:
            return _api_error(exc)
        page = templates.get_template("error.html").render(message=str(exc))
        return HTMLResponse(page, status_code=exc.http_status)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: Exception) -> Response:
        """A full, locked or unreachable database: 503 and what to do; other errors stay 500."""
        outage = db_errors.unavailable(exc)
        if outage is None:
            raise exc
        return await samdesk_error(request, outage)

    # SQLite's own error, where samdesk.db bypasses SQLAlchemy (its raw BEGIN IMMEDIATE).
    app.add_exception_handler(sqlite3.Error, database_error)

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, exc: DataError) -> Response:
        """PostgreSQL refuses text with NUL characters, from whatever input (a form, a query,
        JSON): that is the request's fault, 422 with why; any other DataError is a bug."""
        if NUL_REFUSED not in str(exc.orig):
            return await database_error(request, exc)
        return await samdesk_error(
            request, InvalidRequestError("text may not contain NUL (\\0) characters; remove them")
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse(validation_error(exc), status_code=422)

    # Added before SecurityHeaders, so it runs inside it: a 413 gets the headers too.
    app.add_middleware(BodySizeLimit, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)

    return app


def _api_error(exc: SamdeskError) -> JSONResponse:
    """``{"detail": ...}``; a stale version adds the change the client missed, and its ETag."""
    if isinstance(exc, ConflictError) and exc.current is not None:
        return JSONResponse(
            {"detail": str(exc), "current": exc.current},
            status_code=exc.http_status,
            headers={"ETag": etag(exc.current["version"])},
        )
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)


def validation_error(exc: RequestValidationError) -> dict[str, object]:
    """One readable sentence in ``detail``, and each field's problem in ``errors``.

    The offending input is left out: it can be large, or nested deeply enough that encoding
    it again would exhaust the recursion limit.
    """
    errors: list[dict[str, object]] = []
    lines: list[str] = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        msg = str(error.get("msg", ""))
        errors.append({"loc": loc, "msg": msg, "type": str(error.get("type", ""))})
        lines.append(f"{'.'.join(loc) or 'request'}: {msg}")
    detail = "; ".join(lines[:5])
    more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
    return {"detail": f"invalid request: {detail}{more}", "errors": errors}


def _return_to(request: Request) -> str:
    """Where to land after signing in: the page asked for, or for a form post whose session
    expired, the draft it was posted from (a GET of ``/drafts/7/approve`` would be a 405)."""
    path = request.url.path
    if request.method == "GET":
        return path + (f"?{request.url.query}" if request.url.query else "")
    parts = path.split("/")
    return "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "drafts" else "/"
