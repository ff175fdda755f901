"""Schemathesis against the desk's own OpenAPI schema, in process, with an admin's API token.

Every operation gets generated requests, valid and invalid. Whatever they hold: no 5xx,
every status is one the schema documents, every body matches its documented shape, and
every error is JSON ``{"detail": "<a message>"}``. The app is the real one over a real
database seeded with drafts in each state, so actions reach the state machine.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from approval_ui import auth, crud
from approval_ui.deps import get_drafter
from samdesk.db import transaction
from samdesk.models import User
from tests.approval_ui.conftest import ADMIN, Desk, acme_plan_draft, owned_draft

if TYPE_CHECKING:
    # An OpenAPI schema's operations and cases (schemathesis declares these for type checkers)
    from schemathesis.specs.openapi.schemas import OpenApiCase, OpenApiOperation

EXAMPLES = 8  # per operation and mode: ~30 operations x 2 modes stay well under a minute
REWRITE = json.dumps(
    {
        "subject": "Welcoming Laura Kim",
        "body": "Hi Robert, congratulations on Laura Kim joining as CFO [sig-acme-901].",
        "citations": ["sig-acme-901"],
    }
)


@pytest.fixture
def token(
    app: FastAPI, sessions: sessionmaker[Session], desk: Desk
) -> Iterator[tuple[str, list[int]]]:
    """An admin's API token, drafts in every state, and a drafter over a scripted model."""
    with transaction(sessions) as session:
        admin = session.scalars(select(User).where(User.email == ADMIN)).one()
        secret = auth.create_token(session, admin, "schemathesis").secret
    ids = [acme_plan_draft(sessions) for _ in range(4)]
    desk.approve(ids[1])
    ids.append(owned_draft(sessions))
    desk.reject(ids[-1], "not now")
    ids.append(owned_draft(sessions))
    desk.approve(ids[-1])
    desk.send(ids[-1])
    ids.append(owned_draft(sessions, failed="timeout"))
    with sessions() as session:
        states = [crud.get_draft(session, i).status for i in ids]
    assert states == ["pending", "approved", "pending", "pending", "rejected", "sent", "failed"]
    model = ScriptedChatModel([REWRITE] * 10_000, name="scripted-rewriter")
    # Regenerating replays the draft's stored sources: the drafter never reads its index.
    drafter = Drafter(model, None)  # type: ignore[arg-type]
    app.dependency_overrides[get_drafter] = lambda: lambda: drafter
    yield secret, ids
    app.dependency_overrides.clear()


def error_is_a_message(ctx: Any, response: Any, case: OpenApiCase) -> bool:
    """Every 4xx/5xx is JSON with a non-empty ``detail`` string a person can read."""
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), f"error body is not an object: {body!r}"
        detail = body.get("detail")
        assert isinstance(detail, str) and detail.strip(), f"no message in {body!r}"
    return True


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def cases(
    operation: OpenApiOperation, mode: GenerationMode, ids: list[int]
) -> st.SearchStrategy[OpenApiCase]:
    """Generated requests; half of those on a draft aim at a seeded one, not a random id."""
    generated = operation.as_strategy(generation_mode=mode)
    if "{draft_id}" not in operation.path or mode is GenerationMode.NEGATIVE:
        return generated
    # "*" lets a seeded request through the precondition (a random If-Match is a 412)
    guarded = operation.get_parameter("if-match", "header") is not None
    headers = {"if-match": "*"} if guarded else None
    seeded = st.sampled_from(ids).flatmap(
        lambda draft_id: operation.as_strategy(
            mode, path_parameters={"draft_id": draft_id}, headers=headers
        )
    )
    return generated | seeded


def fuzz(
    operation: OpenApiOperation,
    mode: GenerationMode,
    ids: list[int],
    secret: str,
    statuses: Counter[tuple[str, int]],
) -> None:
    """Up to EXAMPLES generated requests to one operation, every check on each response."""

    @given(case=cases(operation, mode, ids))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the checkout
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],  # no shrinking: report the first failure as found
    )
    def call(case: OpenApiCase) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {secret}"},
            checks=CHECKS,
            additional_checks=[error_is_a_message],
        )
        statuses[operation.label, response.status_code] += 1

    call()


def test_the_api_answers_every_generated_request_as_documented(
    app: FastAPI, token: tuple[str, list[int]]
) -> None:
    secret, ids = token
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    statuses: Counter[tuple[str, int]] = Counter()
    started = time.monotonic()

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the desk's own schema must load whole
        operation = result.ok()
        for mode in GenerationMode:
            label = f"{operation.label} ({mode.value})"
            try:
                fuzz(operation, mode, ids, secret, statuses)
            except Unsatisfiable:  # e.g. nothing to make invalid in an operation without input
                if mode is GenerationMode.POSITIVE:
                    failures[label] = "no valid request could be generated"
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
                failures[label] = str(exc)[:2000]

    elapsed = time.monotonic() - started
    print(f"schemathesis: {statuses.total()} requests over the API in {elapsed:.1f} s")
    for (label, status), n in sorted(statuses.items()):
        print(f"  {label}: {status} x{n}")
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # the generated requests reached the draft actions, not only the validation before them
    reached = {label for (label, status), _ in statuses.items() if status in (200, 409, 412)}
    assert {
        f"{method} /api/drafts/{{draft_id}}{suffix}"
        for method, suffix in [
            ("GET", ""),
            ("PATCH", ""),
            ("POST", "/approve"),
            ("POST", "/reject"),
            ("POST", "/send"),
            ("POST", "/regenerate"),
        ]
    } <= reached, sorted(reached)
