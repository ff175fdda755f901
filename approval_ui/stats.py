"""How reviewers treat the model's drafts, per SAM and per prompt version.

For every approved (or sent) draft: was it approved exactly as the model wrote it, or after
edits, and how far the approved text is from the model's first revision (normalised
Levenshtein distance over recipient, subject and body: 0 unchanged, 1 rewritten). For every
rejected draft: the reason category the reviewer chose. These are the human-edit measures
an offline eval compares prompt versions by.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from approval_ui.crud import REJECT_REASONS
from approval_ui.diffs import edit_distance, revision_text
from approval_ui.permissions import Principal, visible
from samdesk.models import Account, AuditEvent, Draft

UNCATEGORISED = "Free text only"


@dataclass
class Tally:
    approved_unchanged: int = 0
    approved_edited: int = 0
    distances: list[float] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def approved(self) -> int:
        return self.approved_unchanged + self.approved_edited

    @property
    def reviewed(self) -> int:
        return self.approved + sum(self.rejected.values())

    @property
    def mean_edit_distance(self) -> float | None:
        return round(mean(self.distances), 4) if self.distances else None

    @property
    def unchanged_share(self) -> float | None:
        return round(self.approved_unchanged / self.reviewed, 4) if self.reviewed else None

    def as_json(self, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "approved_unchanged": self.approved_unchanged,
            "approved_edited": self.approved_edited,
            "mean_edit_distance": self.mean_edit_distance,
            "max_edit_distance": max(self.distances) if self.distances else None,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "unchanged_share": self.unchanged_share,
        }


@dataclass
class Stats:
    by_sam: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_prompt: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    total: Tally = field(default_factory=Tally)

    def as_json(self) -> dict[str, Any]:
        return {
            "by_sam": [t.as_json(k) for k, t in sorted(self.by_sam.items())],
            "by_prompt": [t.as_json(k) for k, t in sorted(self.by_prompt.items())],
            "total": self.total.as_json("all"),
        }


def compute(session: Session, user: Principal) -> Stats:
    drafts = list(
        session.scalars(
            select(Draft)
            .join(Account, Account.id == Draft.account_id)
            .where(visible(user), Draft.status.in_(("approved", "sent", "rejected")))
            .options(selectinload(Draft.revisions))
            .order_by(Draft.id)
        )
    )
    rejecters = _rejections(session, [d.id for d in drafts if d.status == "rejected"])
    stats = Stats()
    for draft in drafts:
        prompt = f"{draft.prompt_id}@{draft.prompt_version}"
        if draft.status == "rejected":
            actor, reason = rejecters.get(draft.id, ("unknown", UNCATEGORISED))
            for tally in (stats.by_sam[actor], stats.by_prompt[prompt], stats.total):
                tally.rejected[reason] += 1
            continue
        if draft.approved_revision is None or not draft.revisions:
            continue
        first = draft.revisions[0]
        approved = next(r for r in draft.revisions if r.number == draft.approved_revision)
        distance = edit_distance(revision_text(first), revision_text(approved))
        actor = draft.approved_by or "unknown"
        for tally in (stats.by_sam[actor], stats.by_prompt[prompt], stats.total):
            if approved.content_hash == first.content_hash:
                tally.approved_unchanged += 1
            else:
                tally.approved_edited += 1
                tally.distances.append(distance)
    return stats


def _rejections(session: Session, draft_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Who rejected each draft last, and the reason category they chose."""
    found: dict[int, tuple[str, str]] = {}
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.draft_id.in_(draft_ids), AuditEvent.action == "rejected")
        .order_by(AuditEvent.id)
    )
    for event in events:
        category = event.detail.get("category")
        found[event.draft_id] = (event.actor, REJECT_REASONS.get(category or "", UNCATEGORISED))
    return found
