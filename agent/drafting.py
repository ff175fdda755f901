"""Draft briefings and outreach emails from retrieved sources, then check their grounding.

A reply that breaks the schema is retried once with the reason; a second failure becomes a
failed draft the SAM can see, never a half-filled one. A model that gives no answer at all
(after the transport's own retries) raises :class:`DraftFailedError` carrying that failed
draft: the CLI and batches store it, the watcher retries the trigger later instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.context import (
    Checks,
    our_words,
    outreach_extra,
    prompt_context,
    stored_extra,
    stored_recipient,
)
from agent.grounding import Finding
from agent.llm import ChatMessage, ChatModel
from agent.prompts import Prompt, load_prompt
from agent.recipients import address, choose_recipient
from agent.replies import ReplyError, ask_again, parse_reply
from agent.schemas import DraftOutput, output_schema
from agent.tokens import count_messages
from retrieval.chunks import Chunk
from retrieval.index import Ranking, RetrievedChunk, VectorIndex
from retrieval.schemas import AccountPlan, Meeting
from samdesk.errors import ModelUnavailableError, NotFoundError

log = logging.getLogger(__name__)

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


class DraftFailedError(ModelUnavailableError):
    """The model gave no usable answer; ``result`` is the failed draft, reason included."""

    def __init__(self, result: DraftResult):
        super().__init__(result.failure_reason or "the model gave no answer")
        self.result = result


@dataclass
class Drafter:
    llm: ChatModel
    index: VectorIndex
    seller: str = "Northwind Analytics"
    k: int = 8
    ranking: Ranking = field(default_factory=Ranking)
    stale_after_days: int = 120
    directory: dict[str, list[str]] = field(default_factory=dict)  # see Checks
    # Prompt tokens (cl100k_base) a draft may use; lowest-scored sources are dropped to fit.
    prompt_token_budget: int | None = None

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
            # The query is the signal's own indexed text: reuse its vector, skip the model.
            query_vector=self.index.vectors([trigger.id]).get(trigger.id),
        )
        sources = [RetrievedChunk(trigger, 1.0, 1.0)]
        sources += [r for r in related if r.chunk.id != trigger.id][: self.k - 1]
        person = choose_recipient(plan, trigger.section, trigger.text)
        return self._generate(
            "outreach",
            plan,
            load_prompt(prompt),
            sources,
            outreach_extra(person, trigger),
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
        queries = [f"{meeting.title} {BRIEFING_TOPICS}", f"{meeting.title} recent news changes"]
        vectors = self.index.embedder.embed(queries)  # one model call for both queries
        plan_hits = self.index.search(
            queries[0],
            account_id=plan.account_id,
            k=half,
            as_of=as_of,
            ranking=self.ranking,
            kinds=("plan",),
            query_vector=vectors[0],
        )
        news = self.index.search(
            queries[1],
            account_id=plan.account_id,
            k=self.k - half,
            as_of=as_of,
            ranking=self.ranking,
            kinds=("signal",),
            query_vector=vectors[1],
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

    def regenerate(
        self,
        plan: AccountPlan,
        kind: str,
        sources: list[RetrievedChunk],
        previous: dict[str, Any],
        instruction: str,
        *,
        prompt: str,
        trigger: dict[str, Any],
        recipient: str,
        as_of: datetime | None = None,
    ) -> DraftResult:
        """Rewrite a draft as a reviewer asks ("shorter", "more formal"), from the same sources.

        The draft's own prompt is replayed, followed by its previous text (subject, body,
        citations) as the model's turn and the instruction as the next user turn; the reply
        is parsed, retried and grounding-checked exactly like a first draft.
        """
        as_of = as_of or datetime.now(UTC)
        extra = stored_extra(kind, plan, [r.chunk for r in sources], trigger, as_of)
        base = load_prompt(prompt)
        revising = _RevisionPrompt(
            base.kind, base.version, base.hash, json.dumps(previous), instruction.strip()
        )
        return self._generate(
            kind, plan, revising, sources, extra, trigger=trigger, recipient=recipient, as_of=as_of
        )

    def redraft(
        self,
        plan: AccountPlan,
        kind: str,
        sources: list[RetrievedChunk],
        *,
        prompt: str,
        trigger: dict[str, Any],
        seed: int,
        as_of: datetime | None = None,
    ) -> DraftResult:
        """Draft again, from the sources a failed draft was given and for the same recipient
        or meeting: a person's "try again" once the model's reply could not be used.

        ``seed`` must differ from the failed try's: the same prompt and seed would bring the
        embedded model's same unusable reply back."""
        as_of = as_of or datetime.now(UTC)
        chunks = [r.chunk for r in sources]
        return self._generate(
            kind,
            plan,
            load_prompt(prompt),
            sources,
            stored_extra(kind, plan, chunks, trigger, as_of),
            trigger=trigger,
            recipient=stored_recipient(kind, plan, chunks, trigger),
            as_of=as_of,
            seed=seed,
        )

    def _signal(self, plan: AccountPlan, signal_id: str) -> Chunk:
        found = self.index.get([signal_id])
        if not found or found[0].kind != "signal" or found[0].account_id != plan.account_id:
            raise NotFoundError(
                f"signal {signal_id!r} is not indexed for account {plan.account_id}"
            )
        return found[0]

    def generate(
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
        """Draft from sources the caller already chose, without touching the index.

        Offline evals use this to compare prompt versions on a frozen retrieval snapshot.
        """
        return self._generate(
            kind, plan, prompt, sources, extra, trigger=trigger, recipient=recipient, as_of=as_of
        )

    @property
    def checks(self) -> Checks:
        return Checks(self.seller, self.stale_after_days, self.directory)

    def _fit_budget(
        self,
        prompt: Prompt,
        sources: list[RetrievedChunk],
        context: Callable[[list[RetrievedChunk]], dict[str, Any]],
    ) -> tuple[list[RetrievedChunk], list[ChatMessage]]:
        """Drop the lowest-scored sources until the prompt fits ``prompt_token_budget``.

        The first source (the trigger signal, or the best plan section) always stays: a
        prompt still over budget with it alone goes out as it is rather than not at all.
        """
        kept = list(sources)
        messages = prompt.render(context(kept))
        if self.prompt_token_budget is None:
            return kept, messages
        while len(kept) > 1 and count_messages(messages) > self.prompt_token_budget:
            lowest = min(kept[1:], key=lambda r: (r.score, r.chunk.id))
            kept.remove(lowest)
            messages = prompt.render(context(kept))
        if len(kept) < len(sources):
            log.info(
                "dropped %d lowest-scored source(s) to keep the prompt within %d tokens",
                len(sources) - len(kept),
                self.prompt_token_budget,
            )
        return kept, messages

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
        seed: int | None = None,
    ) -> DraftResult:
        account = plan.model_dump(mode="json")

        def context(kept: list[RetrievedChunk]) -> dict[str, Any]:
            return prompt_context(self.seller, plan, account, [r.chunk for r in kept], extra)

        sources, messages = self._fit_budget(prompt, sources, context)
        chunks = [r.chunk for r in sources]
        result = DraftResult(
            kind, plan.account_id, trigger, prompt, self.llm.name, sources, recipient
        )
        schema = output_schema(kind, [c.id for c in chunks])
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        for attempt in (1, 2):
            try:
                completion = self.llm.complete(messages, schema=schema, seed=seed)
            except ModelUnavailableError as exc:
                result.output, result.failure_reason, result.usage = None, str(exc), usage
                log.warning("drafting %s for %s failed: %s", kind, plan.account_id, exc)
                raise DraftFailedError(result) from exc
            result.attempts = attempt
            result.model = completion.model
            result.latency_ms += completion.latency_ms
            usage["prompt_tokens"] += completion.prompt_tokens
            usage["completion_tokens"] += completion.completion_tokens
            try:
                result.output = parse_reply(completion)
                result.failure_reason = None
                break
            except ReplyError as exc:
                result.failure_reason = f"{exc.reason} (after {attempt} attempts)"
                messages = ask_again(messages, completion, exc)
        result.usage = usage
        if result.output is not None:
            result.findings = self.checks.findings(
                result.output,
                kind=kind,
                plan=plan,
                chunks=chunks,
                recipient=recipient,
                extra=extra,
                instructions=our_words(prompt, context([])),
                as_of=as_of,
            )
        log.info(
            "drafted %s for %s with %s: %s, %d finding(s), %s tokens, %d ms",
            kind,
            plan.account_id,
            prompt.ref,
            "ok" if result.output else f"failed ({result.failure_reason})",
            len(result.findings),
            usage,
            result.latency_ms,
        )
        if result.output is not None:
            log.debug("draft body for %s: %s", plan.account_id, result.output.body)
        return result


@dataclass(frozen=True)
class _RevisionPrompt(Prompt):
    """A draft's prompt followed by its previous reply and a reviewer's instruction."""

    previous: str = ""
    instruction: str = ""

    def render(self, context: dict[str, Any]) -> list[ChatMessage]:
        return [
            *super().render(context),
            ChatMessage("assistant", self.previous),
            ChatMessage(
                "user",
                f"Revise that draft as the reviewer asks: {self.instruction}\n"
                "Keep every fact grounded in the sources and cite them as before. "
                "Reply with only the JSON object.",
            ),
        ]
