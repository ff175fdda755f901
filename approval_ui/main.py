"""Build the desk's FastAPI app: database, routers, error pages and security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from approval_ui.permissions import NotAuthenticatedError
from approval_ui.routes import (  # signal intake (issue 6)
    api,
    briefings,
    draft_actions,
    pages,
    reports,
    session,
    timeline,
    tokens,
    users,
    webhooks,
)
from approval_ui.sending import Sender
from approval_ui.templating import templates
from samdesk.config import Settings, get_settings
from samdesk.db import make_engine, migrate, session_factory
from samdesk.errors import SamdeskError

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(settings: Settings | None = None, *, sender: Sender | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        app.state.sessions = session_factory(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="samdesk approval desk",
        summary="Review, edit, approve and send grounded drafts for strategic accounts.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sender = sender
    for module in (api, reports, briefings, tokens, users, session, pages, draft_actions):
        app.include_router(module.router)
    app.include_router(webhooks.router)
    app.include_router(timeline.router)
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
            return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)
        page = templates.get_template("error.html").render(message=str(exc))
        return HTMLResponse(page, status_code=exc.http_status)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold customer data
        return response

    return app


def _return_to(request: Request) -> str:
    """Where to land after signing in: the page asked for, or for a form post whose session
    expired, the draft it was posted from (a GET of ``/drafts/7/approve`` would be a 405)."""
    path = request.url.path
    if request.method == "GET":
        return path + (f"?{request.url.query}" if request.url.query else "")
    parts = path.split("/")
    return "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "drafts" else "/"
