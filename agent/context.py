"""What a draft's prompt and grounding checks are built from, for a fresh draft or a stored one.

The drafter fills the prompt and checks the model's reply with these; the desk rebuilds them
from a stored draft (:func:`recheck`) to check a reviewer's edit the same way, so the two
can never disagree about what a draft was checked against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.form_checks import Letter
from agent.grounding import Finding, check_draft
from agent.prompts import Prompt, load_prompt
from agent.recipients import address, choose_recipient
from agent.replies import RETRY_WORDS
from agent.schemas import DraftOutput
from retrieval.chunks import Chunk, plan_chunks
from retrieval.schemas import AccountPlan, Meeting, Stakeholder


@dataclass(frozen=True)
class Checks:
    """What the grounding checks know besides the draft and its prompt.

    The drafter runs them on the model's reply; the desk runs them again on a reviewer's
    edit (:func:`recheck`), so the flags always describe the text that would be sent.
    """

    seller: str
    stale_after_days: int
    # account id -> names and domains, so a draft that mentions another account is flagged.
    directory: Mapping[str, Sequence[str]]

    def findings(
        self,
        output: DraftOutput,
        *,
        kind: str,
        plan: AccountPlan,
        chunks: list[Chunk],
        recipient: str,
        extra: dict[str, Any],
        instructions: str,
        as_of: datetime,
    ) -> list[Finding]:
        return check_draft(
            output,
            chunks,
            account_id=plan.account_id,
            as_of=as_of,
            stale_after_days=self.stale_after_days,
            known=[plan.owner_sam, self.seller, plan.name, recipient, *_given(extra)],
            instructions=instructions,
            customer_facing=kind == "outreach",
            letter=_letter(plan, recipient) if kind == "outreach" else None,
            plan=plan_chunks(plan),
            other_accounts=[
                term
                for account, terms in self.directory.items()
                if account != plan.account_id
                for term in terms
            ],
        )


def recheck(
    output: DraftOutput,
    checks: Checks,
    *,
    kind: str,
    plan: AccountPlan,
    sources: list[Chunk],
    prompt: str,
    trigger: dict[str, Any],
    recipient: str,
    as_of: datetime,
) -> list[Finding]:
    """The findings for a stored draft's text, as if the model had just replied with it.

    The draft's own sources, prompt (``outreach@v2``: the echo check compares against its
    instructions) and people are rebuilt as drafting had them; nothing calls the model.
    """
    extra = stored_extra(kind, plan, sources, trigger, as_of)
    context = prompt_context(checks.seller, plan, plan.model_dump(mode="json"), sources, extra)
    instructions = our_words(load_prompt(prompt), context)
    return checks.findings(
        output,
        kind=kind,
        plan=plan,
        chunks=sources,
        recipient=recipient,
        extra=extra,
        instructions=instructions,
        as_of=as_of,
    )


def our_words(prompt: Prompt, context: dict[str, Any]) -> str:
    """What samdesk itself tells the model, first try or retry: a draft must not repeat it."""
    return "\n".join([prompt.instructions(context), *RETRY_WORDS])


def _date(chunk: Chunk) -> str | None:
    return chunk.published_at.date().isoformat() if chunk.published_at else None


def prompt_context(
    seller: str,
    plan: AccountPlan,
    account: dict[str, Any],
    sources: list[Chunk],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "seller": seller,
        "sam": {"name": plan.owner_sam, "email": plan.owner_email},
        "account": account,
        "sources": [_source_view(c) for c in sources],
        "example_id": sources[0].id if sources else "source-id",
        **extra,
    }


def stored_extra(
    kind: str, plan: AccountPlan, sources: list[Chunk], trigger: dict[str, Any], as_of: datetime
) -> dict[str, Any]:
    """The recipient or meeting a stored draft was written for, from its trigger."""
    if kind == "outreach":
        signal = _trigger_signal(sources, trigger)
        return outreach_extra(choose_recipient(plan, signal.section, signal.text), signal)
    title = str(trigger.get("title", ""))
    meeting = next(
        (m for m in plan.meetings if m.title.lower() == title.lower()),
        Meeting(title=title or "meeting", starts_at=trigger.get("starts_at") or as_of),
    )
    return {"meeting": meeting.model_dump(mode="json")}


def stored_recipient(
    kind: str, plan: AccountPlan, sources: list[Chunk], trigger: dict[str, Any]
) -> str:
    """Who a stored draft goes to, chosen as its first draft chose: a draft that failed has
    no revision to say so."""
    if kind != "outreach":
        return plan.owner_email
    signal = _trigger_signal(sources, trigger)
    return address(choose_recipient(plan, signal.section, signal.text), plan)


def _trigger_signal(sources: list[Chunk], trigger: dict[str, Any]) -> Chunk:
    return next((c for c in sources if c.id == trigger.get("signal_id")), sources[0])


def outreach_extra(person: Stakeholder | None, signal: Chunk) -> dict[str, Any]:
    return {
        "recipient": {
            "name": person.name if person else "the account team",
            "title": person.title if person else "",
            "role": person.role.replace("_", " ") if person else "",
        },
        "trigger": {"id": signal.id, "title": signal.title, "date": _date(signal)},
    }


def _given(extra: dict[str, Any]) -> list[str]:
    """What the prompt itself stated besides the sources (the recipient, the meeting, its
    time and attendees): known, not invented, so a briefing may give its meeting's date.
    The trigger signal is a source, so its facts are held to citations like any other."""
    meeting = extra.get("meeting", {})
    given = [extra.get("recipient", {}).get("name"), meeting.get("title")]
    given += [meeting.get("starts_at"), *meeting.get("attendees", [])]
    return [str(value) for value in given if value]


def _letter(plan: AccountPlan, recipient: str) -> Letter:
    """``recipient``: the To line as drafted or as the reviewer changed it."""
    to = recipient.lower()
    addressed = tuple(
        s.name
        for s in plan.stakeholders
        if s.name.lower() in to or (s.email and s.email.lower() in to)
    )
    return Letter(plan.name, plan.owner_sam, addressed, tuple(s.name for s in plan.stakeholders))


def _source_view(chunk: Chunk) -> dict[str, Any]:
    return {
        "flags": list(chunk.flags),
        "id": chunk.id,
        "kind": chunk.kind,
        "section": chunk.section,
        "date": _date(chunk),
        "title": chunk.title,
        "text": chunk.text,
    }
