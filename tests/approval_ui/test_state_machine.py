"""Random sequences of reviewer actions against the draft state machine, checked every step.

Two reviewers (the owning SAM and a manager) edit, approve, reject, send and regenerate one
draft through :mod:`approval_ui.actions`, each with a fresh version, their own possibly
stale one, or none. A small model predicts each outcome; after every step the invariants
that make sending safe are checked on the stored rows: only approved bytes leave, once,
and nothing written is ever rewritten. Real database (the ``sessions`` fixture: SQLite, or
PostgreSQL when SAMDESK_TEST_POSTGRES_URL is set), a real outbox folder, a real drafter
over a scripted model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from approval_ui import actions, crud
from approval_ui.messages import content_hash
from approval_ui.permissions import Principal
from approval_ui.sending import OutboxFolderSender
from retrieval.plans import load_plan
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.errors import ConflictError, SamdeskError, StateError
from samdesk.models import Account, AuditEvent, Draft, OutboxMessage
from tests.approval_ui.conftest import MANAGER, REVIEWER, eml_files, owned_draft
from tests.conftest import SAMPLES

REVIEWERS = (
    Principal(1, REVIEWER, "Sarah Chen", "sam"),
    Principal(3, MANAGER, "Dana Whitfield", "manager"),
)
WORDS = ("Hello", "Robert", "Laura", "quick", "note", "CFO", "welcome", "meet", "soon", "thanks")
TEXT = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
# Which version a reviewer claims to have seen: the current one, the one they last read
# (stale if the other reviewer acted since), one that never existed, or none at all.
VERSION = st.sampled_from(["fresh", "seen", "bogus", "none"])
TERMINAL = {"rejected", "sent"}


@dataclass
class Run:
    """What every example shares: the database, the sender, the drafter's scripted model."""

    sessions: sessionmaker[Session]
    settings: Settings
    sender: OutboxFolderSender
    model: ScriptedChatModel
    drafter: Drafter
    steps: int = 0
    examples: int = 0


@dataclass
class Expected:
    status: str = "pending"
    version: int = 1
    seen: dict[str, int] = field(default_factory=dict)


@dataclass
class Stored:
    """One draft's rows as stored, read once per step for the invariants."""

    status: str
    version: int
    approved_revision: int | None
    approved_hash: str | None
    revisions: list[tuple[int, str, str, str, str]]
    outbox: list[OutboxMessage]
    audit: list[AuditEvent]


def acme_plan_draft(sessions: sessionmaker[Session]) -> int:
    """A pending draft on the real Acme plan (regenerating replays the plan's prompt)."""
    draft_id = owned_draft(sessions)
    with transaction(sessions) as session:
        account = session.get_one(Account, "acme-financial")
        if not account.plan:
            plan, errors = load_plan(SAMPLES / "accounts" / "acme-financial.md")
            assert plan is not None and not errors
            account.plan = plan.model_dump(mode="json")
    return draft_id


def make_machine(run: Run) -> type[RuleBasedStateMachine]:
    class DraftLife(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.draft_id = 0
            self.expected = Expected()
            self.revisions: list[tuple[int, str, str, str, str]] = []
            self.versions: list[int] = []
            self.final: tuple[Any, ...] | None = None

        @initialize()
        def new_draft(self) -> None:
            run.examples += 1
            self.draft_id = acme_plan_draft(run.sessions)
            with run.sessions() as session:
                self.expected.version = self._draft(session).version
            self.expected.seen = {r.email: self.expected.version for r in REVIEWERS}

        # -- helpers --------------------------------------------------------------------

        def _version(self, reviewer: Principal, mode: str) -> int | None:
            return {
                "fresh": self.expected.version,
                "seen": self.expected.seen[reviewer.email],
                "bogus": self.expected.version + 1000,
                "none": None,
            }[mode]

        def _stale(self, expected: int | None) -> bool:
            return expected is not None and expected != self.expected.version

        def _act(self, reviewer: Principal, call: Any, refusal: type[Exception] | None) -> bool:
            """Run an action; it must fail with ``refusal`` exactly when the model says so."""
            run.steps += 1
            try:
                call()
            except SamdeskError as exc:
                assert refusal is not None, f"unexpected refusal: {exc!r}"
                assert isinstance(exc, refusal), f"expected {refusal.__name__}, got {exc!r}"
                if isinstance(exc, ConflictError):
                    # the refusal names what the reviewer missed: the version now current
                    assert exc.current is not None
                    assert exc.current["version"] == self.expected.version
                return False
            assert refusal is None, f"expected {refusal.__name__}, but the action succeeded"
            return True

        def _succeeded(self, reviewer: Principal, status: str) -> None:
            """Every change is exactly one new version (withdrawing an approval included)."""
            self.expected.status = status
            self.expected.version += 1
            self.expected.seen[reviewer.email] = self.expected.version

        def _draft(self, session: Session) -> Draft:
            return crud.get_draft(session, self.draft_id)

        # -- rules ----------------------------------------------------------------------

        @rule(reviewer=st.sampled_from(REVIEWERS))
        def read(self, reviewer: Principal) -> None:
            self.expected.seen[reviewer.email] = self.expected.version

        @rule(
            reviewer=st.sampled_from(REVIEWERS),
            mode=VERSION,
            subject=st.none() | TEXT,
            body=st.none() | TEXT,
        )
        def edit(
            self, reviewer: Principal, mode: str, subject: str | None, body: str | None
        ) -> None:
            expected = self._version(reviewer, mode)
            with run.sessions() as session:
                current = self._draft(session).current
                same = (subject or current.subject, body or current.body) == (
                    current.subject,
                    current.body,
                )
            refusal: type[Exception] | None = None
            if self._stale(expected):
                refusal = ConflictError
            elif self.expected.status in TERMINAL:
                refusal = StateError
            done = self._act(
                reviewer,
                lambda: actions.edit(
                    run.sessions,
                    self.draft_id,
                    reviewer,
                    subject=subject,
                    body=body,
                    expected_version=expected,
                ),
                refusal,
            )
            if done and not same:
                self._succeeded(reviewer, "pending")

        @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION, confirm=st.booleans())
        def approve(self, reviewer: Principal, mode: str, confirm: bool) -> None:
            expected = self._version(reviewer, mode)
            with run.sessions() as session:
                flagged = any(f.get("severity") == "error" for f in self._draft(session).findings)
            refusal: type[Exception] | None = None
            if self._stale(expected):
                refusal = ConflictError
            elif self.expected.status != "pending" or (flagged and not confirm):
                refusal = StateError
            done = self._act(
                reviewer,
                lambda: actions.approve(
                    run.sessions,
                    self.draft_id,
                    reviewer,
                    mail_from=run.settings.mail_from,
                    expected_version=expected,
                    confirm_flags=confirm,
                ),
                refusal,
            )
            if done:
                self._succeeded(reviewer, "approved")

        @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION, reason=TEXT)
        def reject(self, reviewer: Principal, mode: str, reason: str) -> None:
            expected = self._version(reviewer, mode)
            refusal: type[Exception] | None = None
            if self._stale(expected):
                refusal = ConflictError
            elif self.expected.status in TERMINAL:
                refusal = StateError
            done = self._act(
                reviewer,
                lambda: actions.reject(
                    run.sessions, self.draft_id, reviewer, reason=reason, expected_version=expected
                ),
                refusal,
            )
            if done:
                self._succeeded(reviewer, "rejected")

        @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION)
        def send(self, reviewer: Principal, mode: str) -> None:
            expected = self._version(reviewer, mode)
            refusal: type[Exception] | None = None
            if self._stale(expected):
                refusal = ConflictError
            elif self.expected.status != "approved":
                refusal = StateError
            done = self._act(
                reviewer,
                lambda: actions.send(
                    run.sessions,
                    self.draft_id,
                    reviewer,
                    sender=run.sender,
                    mail_from=run.settings.mail_from,
                    expected_version=expected,
                ),
                refusal,
            )
            if done:
                self._succeeded(reviewer, "sent")

        @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION, word=st.sampled_from(WORDS))
        def regenerate(self, reviewer: Principal, mode: str, word: str) -> None:
            expected = self._version(reviewer, mode)
            run.model._replies[:] = [
                json.dumps(
                    {
                        "subject": f"Welcoming Laura Kim, {word}",
                        "body": f"Hi Robert, {word}: congratulations on Laura Kim joining as "
                        "CFO [sig-acme-901]. Could we meet soon?",
                        "citations": ["sig-acme-901"],
                    }
                )
            ]
            refusal: type[Exception] | None = None
            if self.expected.status in TERMINAL:  # regenerate checks the state first
                refusal = StateError
            elif self._stale(expected):
                refusal = ConflictError
            done = self._act(
                reviewer,
                lambda: actions.regenerate(
                    run.sessions,
                    self.draft_id,
                    reviewer,
                    drafter=lambda: run.drafter,
                    instruction=word,
                    expected_version=expected,
                ),
                refusal,
            )
            if done:
                self._succeeded(reviewer, "pending")

        # -- invariants (one read of the stored rows per step, then each rule) -----------

        @invariant()
        def stored_rows_keep_the_rules(self) -> None:
            with run.sessions() as session:
                draft = self._draft(session)
                stored = Stored(
                    draft.status,
                    draft.version,
                    draft.approved_revision,
                    draft.approved_hash,
                    [
                        (r.number, r.content_hash, r.subject, r.body, r.recipient)
                        for r in draft.revisions
                    ],
                    list(
                        session.scalars(
                            select(OutboxMessage)
                            .where(OutboxMessage.draft_id == self.draft_id)
                            .order_by(OutboxMessage.id)
                        )
                    ),
                    list(
                        session.scalars(
                            select(AuditEvent)
                            .where(AuditEvent.draft_id == self.draft_id)
                            .order_by(AuditEvent.id)
                        )
                    ),
                )
            self.state_matches_the_model_and_versions_only_grow(stored)
            self.revisions_are_append_only(stored)
            self.only_approved_bytes_are_sent_and_only_once(stored)
            self.rejected_and_sent_drafts_never_change(stored)

        def state_matches_the_model_and_versions_only_grow(self, stored: Stored) -> None:
            assert (stored.status, stored.version) == (self.expected.status, self.expected.version)
            if self.versions:
                assert stored.version >= self.versions[-1]
            self.versions.append(stored.version)

        def revisions_are_append_only(self, stored: Stored) -> None:
            now = stored.revisions
            assert [n for n, *_ in now] == list(range(1, len(now) + 1))
            assert now[: len(self.revisions)] == self.revisions, "a stored revision changed"
            for _, digest, subject, body, recipient in now:
                assert digest == content_hash(subject, body, recipient)
            self.revisions = now

        def only_approved_bytes_are_sent_and_only_once(self, stored: Stored) -> None:
            hashes = {number: digest for number, digest, *_ in stored.revisions}
            for row in stored.outbox:  # every queued message is the frozen text of its revision
                assert row.content_hash == hashes[row.revision_number]
            sent = [row for row in stored.outbox if row.status == "sent"]
            actions_ = [e.action for e in stored.audit]
            if stored.status != "sent":
                assert sent == [] and "sent" not in actions_
                return
            [row] = sent
            assert row.content_hash == stored.approved_hash
            assert stored.approved_hash == hashes[stored.approved_revision or 0]
            assert actions_.count("sent") == 1
            at_sent = actions_.index("sent")
            approved_at = max(i for i, a in enumerate(actions_[:at_sent]) if a == "approved")
            between = set(actions_[approved_at + 1 : at_sent])
            assert not {"edited", "regenerated", "unapproved", "rejected"} & between
            assert stored.audit[approved_at].revision_hash == stored.approved_hash
            assert stored.audit[approved_at].actor in {r.email for r in REVIEWERS}
            assert Path(row.location or "").read_bytes() == row.message

        def rejected_and_sent_drafts_never_change(self, stored: Stored) -> None:
            snapshot = (
                stored.status,
                stored.version,
                stored.revisions,
                (stored.approved_revision, stored.approved_hash),
                [(o.id, o.status) for o in stored.outbox],
            )
            if self.final is not None:
                assert snapshot == self.final, "a rejected or sent draft changed"
            elif stored.status in TERMINAL:
                self.final = snapshot

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
