"""Draft briefings and outreach emails from retrieved sources, then check their grounding.

A reply that breaks the schema is retried once with the reason; a second failure becomes a
failed draft the SAM can see, never a half-filled one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agent.grounding import Finding, check_draft
from agent.llm import ChatMessage, ChatModel, Completion
from agent.prompts import Prompt, load_prompt
from agent.recipients import address, choose_recipient
from agent.schemas import DraftOutput, output_schema
from retrieval.chunks import Chunk
from retrieval.index import Ranking, RetrievedChunk, VectorIndex
from retrieval.schemas import AccountPlan, Meeting
from samdesk.errors import NotFoundError

BRIEFING_TOPICS = "objectives stakeholders open opportunities risks metrics targets"


@dataclass
class DraftResult:
    kind: str
    account_id: str
    trigger: dict[str, Any]
    prompt: Prompt
    model: str
    sources: list[RetrievedChunk]
    recipient: str
    output: DraftOutput | None = None
    failure_reason: str | None = None
    findings: list[Finding] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    latency_ms: int = 0
    attempts: int = 0


@dataclass
class Drafter:
    llm: ChatModel
    index: VectorIndex
    seller: str = "Northwind Analytics"
    k: int = 8
    ranking: Ranking = field(default_factory=Ranking)
    stale_after_days: int = 120

    def draft_outreach(
        self,
        plan: AccountPlan,
        signal_id: str,
        *,
        prompt: str = "outreach",
        as_of: datetime | None = None,
    ) -> DraftResult:
        as_of = as_of or datetime.now(UTC)
        trigger = self._signal(plan, signal_id)
        related = self.index.search(
            f"{trigger.title}\n{trigger.text}",
            account_id=plan.account_id,
            k=self.k,
            as_of=as_of,
            ranking=self.ranking,
        )
        sources = [RetrievedChunk(trigger, 1.0, 1.0)]
        sources += [r for r in related if r.chunk.id != trigger.id][: self.k - 1]
        person = choose_recipient(plan, trigger.section, trigger.text)
        context = {
            "recipient": {
                "name": person.name if person else "the account team",
                "title": person.title if person else "",
                "role": person.role.replace("_", " ") if person else "",
            },
            "trigger": {"id": trigger.id, "title": trigger.title, "date": _date(trigger)},
        }
        return self._generate(
            "outreach",
            plan,
            load_prompt(prompt),
            sources,
            context,
            trigger={"type": "signal", "signal_id": trigger.id, "title": trigger.title},
            recipient=address(person, plan),
            as_of=as_of,
        )

    def draft_briefing(
        self,
        plan: AccountPlan,
        meeting: Meeting,
        *,
        prompt: str = "briefing",
        as_of: datetime | None = None,
    ) -> DraftResult:
        as_of = as_of or datetime.now(UTC)
        half = max(self.k // 2, 1)
        plan_hits = self.index.search(
            f"{meeting.title} {BRIEFING_TOPICS}",
            account_id=plan.account_id,
            k=half,
            as_of=as_of,
            ranking=self.ranking,
            kinds=("plan",),
        )
        news = self.index.search(
            f"{meeting.title} recent news changes",
            account_id=plan.account_id,
            k=self.k - half,
            as_of=as_of,
            ranking=self.ranking,
            kinds=("signal",),
        )
        context = {"meeting": meeting.model_dump(mode="json")}
        return self._generate(
            "briefing",
            plan,
            load_prompt(prompt),
            plan_hits + news,
            context,
            trigger={
                "type": "meeting",
                "title": meeting.title,
                "starts_at": meeting.starts_at.isoformat(),
            },
            recipient=plan.owner_email,
            as_of=as_of,
        )

    def _signal(self, plan: AccountPlan, signal_id: str) -> Chunk:
        found = self.index.get([signal_id])
        if not found or found[0].kind != "signal" or found[0].account_id != plan.account_id:
            raise NotFoundError(
                f"signal {signal_id!r} is not indexed for account {plan.account_id}"
            )
        return found[0]

    def _generate(
        self,
        kind: str,
        plan: AccountPlan,
        prompt: Prompt,
        sources: list[RetrievedChunk],
        extra: dict[str, Any],
        *,
        trigger: dict[str, Any],
        recipient: str,
        as_of: datetime,
    ) -> DraftResult:
        chunks = [r.chunk for r in sources]
        context = {
            "seller": self.seller,
            "sam": {"name": plan.owner_sam, "email": plan.owner_email},
            "account": plan.model_dump(mode="json"),
            "sources": [_source_view(c) for c in chunks],
            "example_id": chunks[0].id if chunks else "source-id",
            **extra,
        }
        result = DraftResult(
            kind, plan.account_id, trigger, prompt, self.llm.name, sources, recipient
        )
        messages = prompt.render(context)
        schema = output_schema(kind, [c.id for c in chunks])
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for attempt in (1, 2):
            completion = self.llm.complete(messages, schema=schema)
            result.attempts = attempt
            result.model = completion.model
            result.latency_ms += completion.latency_ms
            usage["prompt_tokens"] += completion.prompt_tokens
            usage["completion_tokens"] += completion.completion_tokens
            try:
                result.output = parse_reply(completion)
                result.failure_reason = None
                break
            except ValueError as exc:
                result.failure_reason = f"attempt {attempt}: {exc}"
                messages = [
                    *messages,
                    ChatMessage("assistant", completion.text),
                    ChatMessage(
                        "user",
                        f"That reply was invalid: {exc}. Reply again with only the JSON object.",
                    ),
                ]
        result.usage = usage
        if result.output is not None:
            result.findings = check_draft(
                result.output,
                chunks,
                account_id=plan.account_id,
                as_of=as_of,
                stale_after_days=self.stale_after_days,
            )
        return result


def parse_reply(completion: Completion) -> DraftOutput:
    """The draft in a reply, or ``ValueError`` saying exactly what is wrong with it."""
    if completion.finish_reason == "length":
        raise ValueError("the reply was cut off at the token limit")
    text = completion.text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        # strict=False: constrained decoders may emit raw newlines inside strings.
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at char {exc.pos})") from exc
    try:
        return DraftOutput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise ValueError(f"{where}: {first['msg']}") from exc


def _date(chunk: Chunk) -> str | None:
    return chunk.published_at.date().isoformat() if chunk.published_at else None


def _source_view(chunk: Chunk) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "kind": chunk.kind,
        "section": chunk.section,
        "date": _date(chunk),
        "title": chunk.title,
        "text": chunk.text,
    }
