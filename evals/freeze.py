"""Fill in a case's retrieval snapshot and recipient with the product's own retrieval.

A case is written by hand with its expectations; ``samdesk eval freeze`` then runs the real
Drafter over an index of the case's fixtures (with a model that only records its request),
so the frozen sources and the chosen stakeholder are exactly what the product would use.
Cases that already have sources are left alone: a frozen case never moves.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import chromadb
import yaml
from chromadb.config import Settings as ChromaSettings

from agent.drafting import Drafter
from agent.llm import ChatMessage, ChatModel, Completion
from agent.recipients import choose_recipient
from evals.schema import Dataset, dump_dataset
from retrieval.chunks import plan_chunks, signal_chunk, slug
from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from retrieval.schemas import AccountPlan, Meeting
from retrieval.signals import load_signals
from samdesk.errors import InputError

SIGNALS = "fixtures/signals.jsonl"
_STUB = json.dumps({"subject": "stub", "body": "stub reply " * 3, "citations": ["stub"]})


class _Recorder(ChatModel):
    """Answers every request with a valid stub: freezing needs the sources, not a draft."""

    name = "freeze-recorder"

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        return Completion(text=_STUB, model=self.name, finish_reason="stop")


def freeze_file(path: Path, embedder: Embedder, k: int = 8) -> int:
    """Freeze every unfrozen case of one dataset file in place; returns how many changed."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    signals_path = path.parent / SIGNALS
    signals, errors = load_signals(signals_path)
    if errors:
        raise errors[0]
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    indexes: dict[str, tuple[AccountPlan, VectorIndex]] = {}
    changed = 0
    for stub in raw.get("cases", []):
        if stub.get("sources"):
            continue
        plan_file = stub.get("account", {}).get("plan_file")
        if not plan_file:
            raise InputError(path, None, f"cases.{stub.get('id')}", "freezing needs a plan_file")
        if plan_file not in indexes:
            indexes[plan_file] = _index(client, embedder, path.parent / plan_file, signals)
        plan, index = indexes[plan_file]
        _freeze(stub, plan, Drafter(_Recorder(), index, k=k))
        changed += 1
    dump_dataset(Dataset.model_validate(raw), path)
    return changed


def _index(
    client: Any, embedder: Embedder, plan_path: Path, signals: list[Any]
) -> tuple[AccountPlan, VectorIndex]:
    plan, errors = load_plan(plan_path)
    if plan is None:
        raise errors[0]
    index = VectorIndex(client, embedder, collection=f"freeze-{slug(plan_path.stem)}")
    index.upsert(plan_chunks(plan))
    index.upsert([signal_chunk(s) for s in signals if s.account_id == plan.account_id])
    return plan, index


def _freeze(stub: dict[str, Any], plan: AccountPlan, drafter: Drafter) -> None:
    when = datetime.fromisoformat(str(stub["as_of"]).replace("Z", "+00:00"))
    trigger = stub["trigger"]
    if stub["kind"] == "outreach":
        result = drafter.draft_outreach(plan, trigger["signal_id"], as_of=when)
        first = result.sources[0].chunk
        person = choose_recipient(plan, first.section, first.text)
        if "recipient" not in stub and person is not None:
            stub["recipient"] = {
                "name": person.name,
                "title": person.title,
                "role": person.role,
                "email": person.email,
            }
    else:
        meeting = Meeting.model_validate(trigger["meeting"])
        result = drafter.draft_briefing(plan, meeting, as_of=when)
    stub["sources"] = [
        {
            "id": r.chunk.id,
            "kind": r.chunk.kind,
            "section": r.chunk.section,
            "title": r.chunk.title,
            "text": r.chunk.text,
            "published_at": r.chunk.published_at.isoformat() if r.chunk.published_at else None,
            "url": r.chunk.url,
            "flags": list(r.chunk.flags),
        }
        for r in result.sources
    ]
