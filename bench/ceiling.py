"""The desk with two routes that do nothing: what any authenticated JSON write costs on this
stack before it does any work, so the approve figure can be read against it.

``POST /bench/noop/{draft_id}`` takes exactly what ``POST /api/drafts/{draft_id}/approve``
takes (the path id, the JSON body, the bearer token and its CSRF check, the settings, the
If-Match header) and answers ``{}`` from the event loop; ``POST /bench/noop-pool/{draft_id}``
also makes the one trip through the thread pool that any blocking database work needs.
Served by ``python -m bench.ceiling``, started like ``samdesk serve`` (one uvicorn process,
the same defaults), from the same environment; the desk's own routes are untouched.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from approval_ui.deps import CurrentUser, PathId, SessionsDep, SettingsDep
from approval_ui.main import create_app
from approval_ui.routes.api import IfMatch
from approval_ui.schemas import ApproveRequest
from samdesk.config import get_settings

NOOP = "/bench/noop/{draft_id}"  # route paths and load templates (bench/wrk.py) alike
NOOP_POOL = "/bench/noop-pool/{draft_id}"


def ceiling_app() -> FastAPI:
    app = create_app(get_settings())
    app.post(NOOP)(_noop(through_pool=False))
    app.post(NOOP_POOL)(_noop(through_pool=True))
    return app


def _noop(*, through_pool: bool) -> Callable[..., Awaitable[dict[str, str]]]:
    """A route with approve's parameters, each parsed and checked as approve's are."""

    async def noop(
        draft_id: PathId,
        request: ApproveRequest,
        sessions: SessionsDep,
        user: CurrentUser,
        settings: SettingsDep,
        if_match: IfMatch = None,
    ) -> dict[str, str]:
        return await run_in_threadpool(dict) if through_pool else {}

    return noop


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(ceiling_app(), host=args.host, port=args.port)  # as `samdesk serve` runs it


if __name__ == "__main__":
    main()
