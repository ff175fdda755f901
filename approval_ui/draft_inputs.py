"""What a stored draft was written from, rebuilt: its plan, sources, prompt and people.

Regenerating a draft replays its prompt from these; a reviewer's edit is checked against
them (:func:`recheck`) exactly as the model's reply was, so the flags on a draft always
describe the text that would be sent. Before edits were checked, a flag outlived the
sentence it was about, and approving meant confirming (and logging) a problem no longer in
the email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import context
from agent.context import Checks
from agent.grounding import Finding
from agent.schemas import DraftOutput
from approval_ui.draft_history import MODEL_AUTHOR
from retrieval.chunks import Chunk
from retrieval.schemas import AccountPlan
from samdesk.errors import NotFoundError, SamdeskError
from samdesk.models import Account, Draft, Revision

log = logging.getLogger(__name__)

UNCHECKED = "unchecked_edit"


@dataclass(frozen=True)
class DraftInputs:
    plan: AccountPlan
    kind: str
    sources: list[Chunk]
    prompt: str  # outreach@v2
    trigger: dict[str, Any]


def stored_inputs(session: Session, draft: Draft) -> DraftInputs:
    account = session.get(Account, draft.account_id)
    if account is None:
        raise NotFoundError(f"account {draft.account_id!r} of draft {draft.id} is not ingested")
    return DraftInputs(
        plan=AccountPlan.model_validate(account.plan),
        kind=draft.kind,
        sources=[_chunk(s, draft.account_id) for s in draft.sources],
        prompt=f"{draft.prompt_id}@{draft.prompt_version}",
        trigger=dict(draft.trigger),
    )


def account_directory(session: Session) -> dict[str, list[str]]:
    """Every account's name and domain: a draft naming another account is flagged."""
    rows = session.execute(select(Account.id, Account.name, Account.plan))
    return {id_: [name, str(plan.get("domain", ""))] for id_, name, plan in rows}


def recheck(
    session: Session,
    draft: Draft,
    *,
    seller: str,
    stale_after_days: int,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """The grounding findings of the draft's current revision.

    An error that neither the draft's stored findings nor today's checks of the model's own
    text have is about words the edit brought in, so it comes back as a warning (see
    :func:`_reviewers_words`). When the inputs cannot be rebuilt (its
    prompt version was removed, its account's plan no longer validates) the edit still
    saves: the earlier findings stay, with a warning that they are about earlier text.
    """
    current = draft.current
    try:
        inputs = stored_inputs(session, draft)
        checks = Checks(seller, stale_after_days, account_directory(session))

        def check(revision: Revision) -> list[dict[str, Any]]:
            # Unvalidated: the reviewer's text may be shorter than the model's schema allows.
            output = DraftOutput.model_construct(
                subject=revision.subject,
                body=revision.body,
                citations=list(revision.citations),
            )
            found = context.recheck(
                output,
                checks,
                kind=inputs.kind,
                plan=inputs.plan,
                sources=inputs.sources,
                prompt=inputs.prompt,
                trigger=inputs.trigger,
                recipient=current.recipient,
                as_of=as_of or datetime.now(UTC),
            )
            return [f.to_json() for f in found]

        findings = check(current)
        # The model's own text under today's checks: a check added since it was drafted
        # finds the model's words, not the reviewer's.
        models = _models_revision(draft)
        before = [*draft.findings, *(check(models) if models and models is not current else [])]
    except (SamdeskError, ValidationError) as exc:
        log.warning("draft %s: the edit was not re-checked: %s", draft.id, exc)
        why = str(exc).splitlines()[0]
        unchecked = Finding(
            UNCHECKED,
            f"this edit was not re-checked ({why}); the flags are about earlier text",
            severity="warning",
        )
        kept = [f for f in draft.findings if f.get("code") != UNCHECKED]
        return [*kept, unchecked.to_json()]
    return _reviewers_words(findings, before=before)


def _models_revision(draft: Draft) -> Revision | None:
    """The model's latest text (its first draft, or its last regeneration)."""
    return next((r for r in reversed(draft.revisions) if r.author == MODEL_AUTHOR), None)


def _reviewers_words(
    findings: list[dict[str, Any]], *, before: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Errors stay errors only where the text had them before the edit; new ones are warnings.

    The checks exist for what the model invents or leaks. A meeting time, the SAM's own
    phone number or a colleague's name typed in by the reviewer are the reviewer's to vouch
    for; demanding a confirmation for each would teach reviewers to confirm without reading.
    They stay visible and highlighted, marked as written in an edit.
    """
    errors_before = {(f.get("code"), f.get("excerpt")) for f in before if _is_error(f)}
    marked = []
    for finding in findings:
        if _is_error(finding) and (finding["code"], finding["excerpt"]) not in errors_before:
            finding = {
                **finding,
                "severity": "warning",
                "message": f"{finding['message']} (written in an edit)",
            }
        marked.append(finding)
    return marked


def _is_error(finding: dict[str, Any]) -> bool:
    return finding.get("severity") == "error"


def _chunk(source: dict[str, Any], account_id: str) -> Chunk:
    """A stored source back as the chunk it was (retrieval only ever returns the account's)."""
    published = source.get("published_at")
    return Chunk(
        id=source["id"],
        account_id=account_id,
        kind=source.get("kind", "plan"),
        section=source.get("section", ""),
        title=source.get("title", ""),
        text=source.get("text", ""),
        published_at=datetime.fromisoformat(published) if published else None,
        url=source.get("url"),
    )
