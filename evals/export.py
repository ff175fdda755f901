"""Turn the desk's real outcomes into eval cases (``samdesk eval export-edits``).

Approved after edits (the approved revision was written by a person, not the model): the
SAM's final text becomes the case's reference, and facts the product flagged in the model's
draft that the SAM then removed become claims a new draft must not make. Rejected: the
reason is the failure to avoid, the rejected text must not come back, and its flagged facts
are banned claims. Each case carries the draft's own sources and the account's plan, so it
replays exactly what the model saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.form_checks import asks
from evals.anonymize import Anonymizer
from evals.schema import Case, Dataset
from retrieval.schemas import AccountPlan, Meeting
from samdesk.models import Account, Draft, Revision

MODEL_AUTHOR = "samdesk:model"
FACT_CODES = {"unsupported_number", "unsupported_date", "unsupported_name", "unsupported_title"}


def export_edits(session: Session, *, anonymize: bool = False, as_of: str | None = None) -> Dataset:
    drafts = session.scalars(
        select(Draft).where(Draft.status.in_(["approved", "sent", "rejected"])).order_by(Draft.id)
    )
    anonymizer = Anonymizer() if anonymize else None
    cases = []
    for draft in drafts:
        raw = _case(session, draft, as_of)
        if raw is None:
            continue
        if anonymizer is not None:
            plan = AccountPlan.model_validate(raw["account"]["plan"])
            anonymizer.learn(plan)
            raw = anonymizer.data(raw)
        cases.append(Case.model_validate(raw))
    return Dataset(
        name="edits",
        description="Cases exported from the desk: SAM edits as references, rejections as "
        "failures to avoid" + (" (anonymized)." if anonymize else "."),
        cases=cases,
    )


def _case(session: Session, draft: Draft, as_of: str | None) -> dict[str, Any] | None:
    if not draft.revisions or not draft.sources:
        return None
    model_rev = draft.revisions[0]
    account = session.get(Account, draft.account_id)
    if account is None:
        return None
    plan = AccountPlan.model_validate(account.plan)
    written = f"{model_rev.subject}\n{model_rev.body}"
    # Only excerpts the model really wrote can be banned phrases of a later draft.
    flagged = [
        str(f.get("excerpt", ""))
        for f in draft.findings
        if f.get("code") in FACT_CODES and f.get("excerpt") and str(f["excerpt"]) in written
    ]
    raw: dict[str, Any] = {
        "kind": draft.kind,
        "as_of": as_of or draft.created_at.isoformat(),
        "account": {"plan": plan.model_dump(mode="json")},
        "sources": [_source(s) for s in draft.sources],
        "tags": ["desk"],
    }
    if draft.status == "rejected":
        raw |= {
            "id": f"rejected-{draft.id}",
            "description": f"Rejected in the desk: {draft.reject_reason}",
            "avoid": {
                "reason": draft.reject_reason or "",
                "body": draft.current.body,
                "draft_id": draft.id,
            },
        }
        raw["tags"].append("rejected")
        banned = flagged
        final = None
    else:
        final = _approved(draft)
        if final is None or final.author == MODEL_AUTHOR:
            return None  # approved as the model wrote it: nothing to learn from
        raw |= {
            "id": f"edit-{draft.id}",
            "description": f"Approved after edits by {final.author}.",
            "reference": {
                "subject": final.subject,
                "body": final.body,
                "draft_id": draft.id,
                "model_body": model_rev.body,
            },
        }
        raw["tags"].append("edited")
        banned = [f for f in flagged if f.lower() not in final.body.lower()]
    raw["id"] = f"{draft.account_id}-{raw['id']}"
    raw["trigger"], recipient = _trigger(draft, plan)
    if recipient is not None:
        raw["recipient"] = recipient
    raw["expect"] = _expectations(draft, final, banned, recipient)
    return raw


def _approved(draft: Draft) -> Revision | None:
    return next((r for r in draft.revisions if r.number == draft.approved_revision), None)


def _source(stored: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "section", "title", "text", "published_at", "url")
    return {k: stored.get(k) for k in keys if stored.get(k) is not None}


def _trigger(draft: Draft, plan: AccountPlan) -> tuple[dict[str, Any], dict[str, Any] | None]:
    trigger = draft.trigger
    if draft.kind == "outreach":
        address = draft.revisions[0].recipient
        person = next(
            (
                s
                for s in plan.stakeholders
                if (s.email and s.email in address) or address.startswith(s.name)
            ),
            None,
        )
        name = person.name if person else address.split("<")[0].strip() or "the account team"
        recipient = {
            "name": name,
            "title": person.title if person else "",
            "role": person.role if person else "",
            **({"email": person.email} if person and person.email else {}),
        }
        return {"signal_id": trigger["signal_id"]}, recipient
    title = str(trigger.get("title", ""))
    meeting = next((m for m in plan.meetings if m.title == title), None)
    if meeting is None:
        starts = datetime.fromisoformat(str(trigger.get("starts_at")))
        meeting = Meeting(title=title, starts_at=starts)
    return {"meeting": meeting.model_dump(mode="json")}, None


def _expectations(
    draft: Draft, final: Revision | None, banned: list[str], recipient: dict[str, Any] | None
) -> dict[str, Any]:
    expect: dict[str, Any] = {"must_not_include": list(dict.fromkeys(banned))}
    if recipient is not None and recipient["name"] != "the account team":
        expect["address"] = recipient["name"]
    if final is not None:
        words = len(final.body.split())
        expect["min_words"] = max(words // 2, 1)
        expect["max_words"] = max(words * 3 // 2, 2)
        if draft.kind == "outreach":
            expect["call_to_action"] = asks(final.body)
    return expect
