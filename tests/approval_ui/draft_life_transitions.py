"""The reviewers' actions on one draft, and the outcome the model predicts for each.

A reviewer acts with a fresh version, their own possibly stale one, a bogus one, or none.
An action is refused with ConflictError when the version is stale, with StateError when the
draft's state does not allow it (rejected and sent drafts are final; only a pending draft
is approved, only an approved one sent), and otherwise succeeds as exactly one new version.
The stored rows are checked after every step by :mod:`.draft_life_invariants`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from approval_ui import actions, crud
from approval_ui.permissions import Principal
from approval_ui.sending import OutboxFolderSender
from samdesk.config import Settings
from samdesk.errors import ConflictError, SamdeskError, StateError
from samdesk.models import Draft
from tests.approval_ui.conftest import MANAGER, REVIEWER, acme_plan_draft

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


class ReviewerActions(RuleBasedStateMachine):
    """Each rule is one reviewer action; it must be refused exactly when the model says so."""

    run: ClassVar[Run]  # set on the subclass each test builds

    def __init__(self) -> None:
        super().__init__()
        self.draft_id = 0
        self.expected = Expected()

    @initialize()
    def new_draft(self) -> None:
        self.run.examples += 1
        self.draft_id = acme_plan_draft(self.run.sessions)
        with self.run.sessions() as session:
            self.expected.version = self._draft(session).version
        self.expected.seen = {r.email: self.expected.version for r in REVIEWERS}

    # -- helpers ------------------------------------------------------------------------

    def _version(self, reviewer: Principal, mode: str) -> int | None:
        return {
            "fresh": self.expected.version,
            "seen": self.expected.seen[reviewer.email],
            "bogus": self.expected.version + 1000,
            "none": None,
        }[mode]

    def _stale(self, expected: int | None) -> bool:
        return expected is not None and expected != self.expected.version

    def _refusal(self, expected: int | None, *, wrong_state: bool) -> type[Exception] | None:
        """What the action must fail with: a stale version first, then a state it refuses."""
        if self._stale(expected):
            return ConflictError
        return StateError if wrong_state else None

    def _act(self, reviewer: Principal, call: Any, refusal: type[Exception] | None) -> bool:
        """Run an action; it must fail with ``refusal`` exactly when the model says so."""
        self.run.steps += 1
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

    # -- rules --------------------------------------------------------------------------

    @rule(reviewer=st.sampled_from(REVIEWERS))
    def read(self, reviewer: Principal) -> None:
        self.expected.seen[reviewer.email] = self.expected.version

    @rule(
        reviewer=st.sampled_from(REVIEWERS),
        mode=VERSION,
        subject=st.none() | TEXT,
        body=st.none() | TEXT,
    )
    def edit(self, reviewer: Principal, mode: str, subject: str | None, body: str | None) -> None:
        expected = self._version(reviewer, mode)
        with self.run.sessions() as session:
            current = self._draft(session).current
            same = (subject or current.subject, body or current.body) == (
                current.subject,
                current.body,
            )
        refusal = self._refusal(expected, wrong_state=self.expected.status in TERMINAL)
        done = self._act(
            reviewer,
            lambda: actions.edit(
                self.run.sessions,
                self.draft_id,
                reviewer,
                subject=subject,
                body=body,
                expected_version=expected,
                seller=self.run.settings.seller_company,
                stale_after_days=self.run.settings.stale_after_days,
            ),
            refusal,
        )
        if done and not same:
            self._succeeded(reviewer, "pending")

    @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION, confirm=st.booleans())
    def approve(self, reviewer: Principal, mode: str, confirm: bool) -> None:
        expected = self._version(reviewer, mode)
        with self.run.sessions() as session:
            flagged = any(f.get("severity") == "error" for f in self._draft(session).findings)
        refusal = self._refusal(
            expected, wrong_state=self.expected.status != "pending" or (flagged and not confirm)
        )
        done = self._act(
            reviewer,
            lambda: actions.approve(
                self.run.sessions,
                self.draft_id,
                reviewer,
                mail_from=self.run.settings.mail_from,
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
        refusal = self._refusal(expected, wrong_state=self.expected.status in TERMINAL)
        done = self._act(
            reviewer,
            lambda: actions.reject(
                self.run.sessions, self.draft_id, reviewer, reason=reason, expected_version=expected
            ),
            refusal,
        )
        if done:
            self._succeeded(reviewer, "rejected")

    @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION)
    def send(self, reviewer: Principal, mode: str) -> None:
        expected = self._version(reviewer, mode)
        refusal = self._refusal(expected, wrong_state=self.expected.status != "approved")
        done = self._act(
            reviewer,
            lambda: actions.send(
                self.run.sessions,
                self.draft_id,
                reviewer,
                sender=self.run.sender,
                mail_from=self.run.settings.mail_from,
                expected_version=expected,
            ),
            refusal,
        )
        if done:
            self._succeeded(reviewer, "sent")

    @rule(reviewer=st.sampled_from(REVIEWERS), mode=VERSION, word=st.sampled_from(WORDS))
    def regenerate(self, reviewer: Principal, mode: str, word: str) -> None:
        expected = self._version(reviewer, mode)
        self.run.model._replies[:] = [
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
                self.run.sessions,
                self.draft_id,
                reviewer,
                drafter=lambda: self.run.drafter,
                instruction=word,
                expected_version=expected,
            ),
            refusal,
        )
        if done:
            self._succeeded(reviewer, "pending")
