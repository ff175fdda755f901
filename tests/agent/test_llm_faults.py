"""The model server misbehaves for real (tests/fault_llm_server.py); samdesk retries within its
policy, then stores one visible failed draft saying why, and nothing half-written.

Every test asserts the requests the server received (the retry policy), the failed
draft's reason, and the rows written. Settings: 3 attempts (llm_max_retries=2), 0.5 s
timeout, backoff from 0.05 s, Retry-After honoured up to 2 s.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from agent.batch import BatchItem, DraftJob, draft_many
from approval_ui.permissions import Principal
from approval_ui.regenerate import RETRY_SEED, retry_failed_draft
from retrieval.index import VectorIndex
from samdesk.models import AuditEvent, Draft, OutboxMessage, Revision
from samdesk.runtime import Runtime
from tests.conftest import AS_OF, make_settings
from tests.fault_llm_server import (
    FaultLLMServer,
    content,
    delay,
    not_json,
    status,
    truncated,
)

ACCOUNT = "acme-financial"
SIGNAL = "sig-acme-003"
ATTEMPTS = 3
TABLES = {"drafts": Draft, "revisions": Revision, "audit": AuditEvent, "outbox": OutboxMessage}


@pytest.fixture
def runtime(
    fault_llm: FaultLLMServer,
    workspace: Path,
    sample_sessions: sessionmaker[Session],
    sample_index: VectorIndex,
) -> Runtime:
    settings = make_settings(
        workspace,
        llm_base_url=fault_llm.base_url,
        llm_timeout_s=0.5,
        llm_max_retries=ATTEMPTS - 1,
        llm_retry_backoff_s=0.05,
        llm_max_retry_after_s=2.0,
    )
    runtime = Runtime(settings, sample_sessions)
    runtime.index = sample_index  # the session's embedder, not a second copy of the model
    return runtime


def rows(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in TABLES.items()
        }


def grew(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before}


def assert_nothing_half_written(sessions: sessionmaker[Session]) -> None:
    """Failed drafts have no revision; every other draft has at least one."""
    with sessions() as session:
        for draft in session.scalars(select(Draft)):
            if draft.status == "failed":
                assert draft.revisions == [] and draft.failure_reason
            else:
                assert draft.revisions, f"draft {draft.id} has no revision"


FAILED_DRAFT = {"drafts": 1, "revisions": 0, "audit": 1, "outbox": 0}
GOOD_DRAFT = {"drafts": 1, "revisions": 1, "audit": 1, "outbox": 0}


def draft_once(runtime: Runtime) -> tuple[Draft, dict[str, int], str]:
    """Draft, returning the draft, the rows it wrote, and how the model call went (logged)."""
    before = rows(runtime.sessions)
    draft = runtime.draft_outreach(ACCOUNT, SIGNAL, as_of=AS_OF)
    after = rows(runtime.sessions)
    assert_nothing_half_written(runtime.sessions)
    return draft, grew(before, after), draft.failure_reason or "ok"


def test_a_server_too_slow_to_answer_times_out_three_times_then_the_draft_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(delay(5), delay(5), delay(5))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == ATTEMPTS
    assert draft.status == "failed"
    assert draft.failure_reason is not None
    assert draft.failure_reason.startswith("the model timed out after 3 attempts (0.5 s each")
    assert written == FAILED_DRAFT
    # Each retry came one 0.5 s timeout plus a short backoff after the last, not 5 s later.
    assert all(0.5 <= gap < 0.9 for gap in fault_llm.gaps()), fault_llm.gaps()


def test_429_is_retried_after_the_servers_retry_after_and_then_succeeds(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(status(429, **{"Retry-After": "1"}))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 2
    assert fault_llm.gaps()[0] >= 1.0  # waited as long as the server asked
    assert draft.status == "pending" and draft.failure_reason is None
    assert written == GOOD_DRAFT


def test_429_asking_for_longer_than_the_cap_fails_at_once_saying_so(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(status(429, **{"Retry-After": "120"}))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 1  # no retry: waiting 2 s would only earn another 429
    assert draft.failure_reason is not None
    assert "rate limiting (429) and asked to wait 120 s" in draft.failure_reason
    assert "SAMDESK_LLM_MAX_RETRY_AFTER_S (2 s)" in draft.failure_reason
    assert written == FAILED_DRAFT


def test_500s_are_retried_up_to_the_limit_then_the_draft_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(status(500), status(500), status(500))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == ATTEMPTS
    assert draft.failure_reason is not None
    assert "answered 500 after 3 attempts" in draft.failure_reason
    assert draft.failure_reason.endswith(": injected 500")  # the server's own message
    assert written == FAILED_DRAFT


def test_a_refusal_that_retrying_cannot_fix_is_not_retried(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(status(401))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 1
    assert draft.failure_reason is not None
    assert "answered 401 after 1 attempt " in draft.failure_reason
    assert draft.failure_reason.endswith(
        ": injected 401; check SAMDESK_LLM_API_KEY (or OPENAI_API_KEY)"
    )
    assert written == FAILED_DRAFT


def test_a_body_cut_short_is_retried_then_the_draft_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(truncated(), truncated(), truncated())

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == ATTEMPTS
    assert draft.failure_reason is not None
    assert "closed the connection mid-reply after 3 attempts" in draft.failure_reason
    assert written == FAILED_DRAFT


def test_a_body_cut_short_once_is_retried_and_the_draft_succeeds(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(truncated())

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 2
    assert draft.status == "pending"
    assert written == GOOD_DRAFT


def test_a_reply_that_breaks_the_schema_is_asked_again_once_then_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    no_subject = json.dumps({"body": "A body citing [sig-acme-003].", "citations": [SIGNAL]})
    fault_llm.push(content(no_subject), content(no_subject))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 2  # the drafter's one retry with the reason; no transport retry
    assert draft.failure_reason == (
        "model reply broke the schema: field 'subject' missing (after 2 attempts)"
    )
    assert written == FAILED_DRAFT


def test_trying_a_failed_draft_again_asks_for_another_sample(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    """The same prompt with the same seed brings the embedded model's same reply back, so
    each new try of a failed draft asks with a seed of its own."""
    no_subject = json.dumps({"body": "A body citing [sig-acme-003].", "citations": [SIGNAL]})
    fault_llm.push(*[content(no_subject)] * 4)
    draft, _, _ = draft_once(runtime)
    owner = Principal(1, "sarah.chen@northwind.example", "Sarah Chen", "sam")

    def retry() -> str:
        return retry_failed_draft(
            runtime.sessions,
            draft.id,
            drafter=lambda: runtime.drafter,
            user=owner,
            approval_ttl=timedelta(hours=1),
        )

    assert retry() == "failed"  # the server still breaks the schema twice
    assert retry() == "pending"  # and now answers well
    configured = runtime.settings.llm_seed
    first_try, second_try, third_try = (
        fault_llm.seeds[:2],
        fault_llm.seeds[2:4],
        fault_llm.seeds[4:],
    )
    assert first_try == [configured, configured]
    assert second_try == [RETRY_SEED + draft.version] * 2
    assert len(set(third_try)) == 1 and third_try[0] not in {configured, *second_try}
    assert_nothing_half_written(runtime.sessions)


def test_a_reply_whose_content_is_not_json_is_asked_again_once_then_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(content("Sure! Here is your email:"), content("Dear Robert,"))

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 2
    assert draft.failure_reason is not None
    assert draft.failure_reason.startswith("model reply was not JSON (Expecting value")
    assert written == FAILED_DRAFT


def test_a_response_that_is_not_json_at_all_is_retried_then_fails(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    fault_llm.push(not_json(), not_json(), not_json())

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == ATTEMPTS
    assert draft.failure_reason is not None
    assert "sent no usable chat completion after 3 attempts" in draft.failure_reason
    assert "text/html" in draft.failure_reason and "502 Bad Gateway" in draft.failure_reason
    assert written == FAILED_DRAFT


def test_a_stopped_server_refuses_three_times_then_drafts_again_once_restarted(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    first, _, _ = draft_once(runtime)  # a kept-alive connection exists before the stop
    assert first.status == "pending" and fault_llm.count == 1
    fault_llm.stop()

    draft, written, _ = draft_once(runtime)

    assert fault_llm.count == 1  # nothing arrived: every connection was refused
    assert draft.failure_reason is not None
    assert draft.failure_reason.startswith(
        f"cannot reach the model server at {fault_llm.base_url} after 3 attempts"
    )
    assert "check SAMDESK_LLM_BASE_URL" in draft.failure_reason
    assert written == FAILED_DRAFT

    fault_llm.start()  # same port
    again, written, _ = draft_once(runtime)
    assert again.status == "pending" and fault_llm.count == 2
    assert written == GOOD_DRAFT


def test_in_a_batch_the_failing_job_becomes_a_failed_draft_and_the_others_are_drafted(
    runtime: Runtime, fault_llm: FaultLLMServer
) -> None:
    plan = runtime.plan(ACCOUNT)
    signals = ["sig-acme-001", "sig-acme-002", "sig-acme-003"]
    jobs = [DraftJob("outreach", plan, signal_id=s, as_of=AS_OF) for s in signals]
    fault_llm.fail_for("sig-acme-002", status(500))
    stored: list[int] = []

    def store(item: BatchItem) -> None:
        assert item.error is None and item.result is not None
        stored.append(runtime.store(item.result).id)

    before = rows(runtime.sessions)
    items = draft_many(runtime.drafter, jobs, concurrency=2, on_done=store)
    written = grew(before, rows(runtime.sessions))

    assert fault_llm.count == 1 + ATTEMPTS + 1
    assert [i.result.output is not None for i in items if i.result] == [True, False, True]
    assert written == {"drafts": 3, "revisions": 2, "audit": 3, "outbox": 0}
    with runtime.sessions() as session:
        statuses = {
            d.trigger["signal_id"]: (d.status, d.failure_reason)
            for d in session.scalars(select(Draft).where(Draft.id.in_(stored)))
        }
    assert statuses["sig-acme-001"] == ("pending", None)
    assert statuses["sig-acme-003"] == ("pending", None)
    status_2, reason_2 = statuses["sig-acme-002"]
    assert status_2 == "failed" and reason_2 and "answered 500 after 3 attempts" in reason_2
    assert_nothing_half_written(runtime.sessions)
