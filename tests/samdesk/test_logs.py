from __future__ import annotations

import json
import logging

import pytest

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from samdesk.logs import SecretFilter
from tests.conftest import AS_OF, SAMPLES

BODY = "Confidential body text about the Trading Desk [sig-acme-003]."


def test_secrets_are_redacted_from_any_record() -> None:
    record = logging.LogRecord(
        "x",
        logging.INFO,
        "f",
        1,
        "calling with %s and %s",
        ("sk-proj-abcdefgh12345678", "Bearer eyJhbGciOiJIUzI1NiJ9.abc"),
        None,
    )
    SecretFilter().filter(record)
    assert record.getMessage() == "calling with [redacted] and [redacted]"


def test_draft_bodies_are_logged_only_at_debug(
    sample_index: VectorIndex, caplog: pytest.LogCaptureFixture
) -> None:
    plan, _ = load_plan(SAMPLES / "accounts" / "acme-financial.md")
    assert plan is not None
    reply = json.dumps({"subject": "Trading Desk", "body": BODY, "citations": ["sig-acme-003"]})
    drafter = Drafter(ScriptedChatModel([reply, reply]), sample_index)
    with caplog.at_level(logging.INFO, logger="agent.drafting"):
        drafter.draft_outreach(plan, "sig-acme-003", prompt="outreach@v1", as_of=AS_OF)
    assert "drafted outreach for acme-financial" in caplog.text
    assert BODY not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="agent.drafting"):
        drafter.draft_outreach(plan, "sig-acme-003", prompt="outreach@v1", as_of=AS_OF)
    assert BODY in caplog.text
