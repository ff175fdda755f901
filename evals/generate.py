"""Draft one case through the product's own prompt rendering and model call.

Retrieval is replaced by the case's frozen snapshot; everything after it (prompt context,
JSON schema, retry on a broken reply, grounding checks) is ``agent.drafting`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from agent.drafting import Drafter, DraftResult
from agent.llm import ChatModel
from agent.openai_chat import OpenAIChatModel
from agent.prompts import Prompt
from agent.redaction import RedactingChatModel
from evals.cache import CACHE_DIR, CachedChatModel
from evals.schema import LoadedCase
from retrieval.index import RetrievedChunk, VectorIndex
from samdesk.config import Settings


def generation_params(settings: Settings) -> dict[str, Any]:
    """The settings that change a reply, and so belong in its cache key."""
    return {
        "temperature": settings.llm_temperature,
        "seed": settings.llm_seed,
        "max_tokens": settings.llm_max_tokens,
        "json_mode": settings.llm_json_mode
        or ("json_object" if settings.llm_endpoint().provider == "embedded" else "json_schema"),
    }


def cached_model(
    settings: Settings, *, offline: bool, cache_dir: Any = CACHE_DIR, inner: ChatModel | None = None
) -> CachedChatModel:
    """The model as the product wires it (PII redaction for external providers), cached."""
    endpoint = settings.llm_endpoint()
    model = inner or OpenAIChatModel(endpoint, settings)
    redact = settings.redact_pii
    if redact if redact is not None else endpoint.provider != "embedded":
        model = RedactingChatModel(model)
    return CachedChatModel(model, cache_dir, params=generation_params(settings), offline=offline)


def drafter_for(model: ChatModel, settings: Settings, cases: Sequence[LoadedCase] = ()) -> Drafter:
    """A drafter like the product's; ``cases`` name the other accounts a draft must not mention."""
    directory = {c.plan.account_id: [c.plan.name, c.plan.domain] for c in cases}
    # Drafter.generate never searches, so the eval drafter has no index at all.
    return Drafter(
        llm=model,
        index=cast(VectorIndex, None),
        seller=settings.seller_company,
        stale_after_days=settings.stale_after_days,
        directory=directory,
    )


def draft_case(drafter: Drafter, loaded: LoadedCase, prompt: Prompt) -> DraftResult:
    case, plan = loaded.case, loaded.plan
    chunks = loaded.chunks()
    sources = [RetrievedChunk(c, 1.0, 1.0) for c in chunks]
    if case.kind == "outreach":
        assert case.recipient is not None
        person, trigger = case.recipient, chunks[0]
        extra: dict[str, Any] = {
            "recipient": {
                "name": person.name,
                "title": person.title,
                "role": person.role.replace("_", " "),
            },
            "trigger": {
                "id": trigger.id,
                "title": trigger.title,
                "date": trigger.published_at.date().isoformat() if trigger.published_at else None,
            },
        }
        return drafter.generate(
            "outreach",
            plan,
            prompt,
            sources,
            extra,
            trigger={"type": "signal", "signal_id": trigger.id, "title": trigger.title},
            recipient=f"{person.name} <{person.email}>" if person.email else person.name,
            as_of=case.as_of,
        )
    meeting = case.trigger.meeting
    assert meeting is not None
    return drafter.generate(
        "briefing",
        plan,
        prompt,
        sources,
        {"meeting": meeting.model_dump(mode="json")},
        trigger={
            "type": "meeting",
            "title": meeting.title,
            "starts_at": meeting.starts_at.isoformat(),
        },
        recipient=plan.owner_email,
        as_of=case.as_of,
    )
