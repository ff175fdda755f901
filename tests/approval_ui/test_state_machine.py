"""Random sequences of reviewer actions against the draft state machine, checked every step.

Two reviewers (the owning SAM and a manager) edit, approve, reject, send and regenerate one
draft through :mod:`approval_ui.actions`, each with a fresh version, their own possibly
stale one, or none. A small model predicts each outcome; after every step the invariants
that make sending safe are checked on the stored rows: only approved bytes leave, once,
and nothing written is ever rewritten. Real database (the ``sessions`` fixture: SQLite, or
PostgreSQL when SAMDESK_TEST_POSTGRES_URL is set), a real outbox folder, a real drafter
over a scripted model.

The actions and the outcome predicted for each (which transitions are allowed or refused,
one new version per change) are in draft_life_transitions.py; the checks of the stored
rows after each step are in draft_life_invariants.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from approval_ui.sending import OutboxFolderSender
from samdesk.config import Settings
from samdesk.models import OutboxMessage
from tests.approval_ui.conftest import eml_files
from tests.approval_ui.draft_life_invariants import StoredRowInvariants
from tests.approval_ui.draft_life_transitions import Run


def make_machine(run: Run) -> type[RuleBasedStateMachine]:
    class DraftLife(StoredRowInvariants):
        """One draft's life in this run: reviewer actions, the stored rows checked each step."""

    DraftLife.run = run
    return DraftLife


def test_random_reviewer_actions_keep_the_draft_invariants(
    sessions: sessionmaker[Session],
    settings: Settings,
    folder_sender: OutboxFolderSender,
    outbox_dir: Path,
) -> None:
    model = ScriptedChatModel([], name="scripted-rewriter")
    # Regenerating replays the draft's stored sources: the drafter never reads its index.
    drafter = Drafter(model, None)  # type: ignore[arg-type]
    run = Run(sessions, settings, folder_sender, model, drafter)
    started = time.monotonic()

    run_state_machine_as_test(
        make_machine(run),
        settings=settings_for_ci(),
    )

    assert run.examples >= 20 and run.steps >= 200  # it really explored
    with sessions() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent")).all()
    assert len(eml_files(outbox_dir)) == len(sent)  # one file per sent message, no strays
    elapsed = time.monotonic() - started
    print(f"state machine: {run.examples} examples, {run.steps} actions in {elapsed:.1f} s")


def settings_for_ci() -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=50,
        stateful_step_count=20,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the checkout; failures print a blob
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
