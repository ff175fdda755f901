"""Validate items from any source, queue them durably, then store and index them once.

The queue (``intake_items``) is what makes retries safe: an item is written there in the
same transaction as the source's new state (ETag, file hash), so a crash either keeps both
or neither, and a re-poll re-queues the same ids. Draining hands the queue to
``retrieval.ingest``, which is idempotent by id and content hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.index import VectorIndex
from retrieval.ingest import IngestReport, _store_signals
from retrieval.schemas import Signal
from retrieval.triage import RuleClassifier
from samdesk.db import transaction
from samdesk.errors import InputError
from samdesk.models import Account, IntakeItem, SignalRecord, utcnow

_RULES = RuleClassifier()


@dataclass(frozen=True)
class RawItem:
    """One item as a source produced it; ``where`` names it in errors (file:line, feed entry)."""

    where: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    signal: Signal
    type_declared: bool
    where: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.signal.title, self.signal.text)


@dataclass
class QueueReport:
    queued: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    errors: list[InputError] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.queued} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.duplicates} duplicate, {len(self.errors)} rejected"
        )


def content_hash(title: str, text: str) -> str:
    """The same hash ``retrieval.chunks.Chunk`` gives a signal, so the two can be compared."""
    return hashlib.sha256(f"{title.strip()}\n{text.strip()}".encode()).hexdigest()[:16]


def stable_id(prefix: str, account_id: str, url: str) -> str:
    return f"{prefix}-{hashlib.sha256(f'{account_id} {url}'.encode()).hexdigest()[:20]}"


def validate(item: RawItem, account_names: dict[str, str]) -> Candidate | list[InputError]:
    """A signal, or one error per broken field. A missing type is read by the triage rules."""
    data = dict(item.data)
    declared = data.get("type") not in (None, "")
    if not declared:
        data.pop("type", None)
        account = account_names.get(str(data.get("account_id", "")))
        title, text = str(data.get("title") or ""), str(data.get("text") or "")
        data["type"] = _RULES.classify(title, text, account or "").type if account else "noise"
    try:
        signal = Signal.model_validate(data)
    except ValidationError as exc:
        return [
            InputError(item.where, None, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
            for err in exc.errors()
        ]
    if signal.account_id not in account_names:
        return [
            InputError(
                item.where,
                None,
                "account_id",
                f"unknown account {signal.account_id!r} (ingest its plan first)",
            )
        ]
    return Candidate(signal, declared, item.where)


def validate_all(
    items: Iterable[RawItem], account_names: dict[str, str]
) -> tuple[list[Candidate], list[InputError]]:
    good: list[Candidate] = []
    errors: list[InputError] = []
    for item in items:
        checked = validate(item, account_names)
        if isinstance(checked, Candidate):
            good.append(checked)
        else:
            errors.extend(checked)
    return good, errors


def account_names(session: Session) -> dict[str, str]:
    return {a.id: a.name for a in session.scalars(select(Account))}


def enqueue(
    session: Session, candidates: Iterable[Candidate], *, source_id: int | None
) -> QueueReport:
    """Queue new or changed signals; the same event under another URL is a duplicate."""
    report = QueueReport()
    for cand in candidates:
        sig, digest = cand.signal, cand.content_hash
        payload = sig.model_dump(mode="json")
        item = session.get(IntakeItem, sig.id)
        if item is not None:
            if item.content_hash == digest and item.payload == payload:
                report.unchanged += 1
                continue
            item.payload, item.content_hash, item.url = payload, digest, str(sig.source_url)
            item.status, item.error, item.ingested_at = "queued", None, None
            report.updated += 1
            continue
        if _same_content_elsewhere(session, sig, digest):
            report.duplicates += 1
            continue
        session.add(
            IntakeItem(
                signal_id=sig.id,
                source_id=source_id,
                account_id=sig.account_id,
                url=str(sig.source_url),
                content_hash=digest,
                payload=payload,
                type_declared=cand.type_declared,
                status="queued",
            )
        )
        session.flush()
        report.queued += 1
    return report


def _same_content_elsewhere(session: Session, sig: Signal, digest: str) -> bool:
    queued = session.scalars(
        select(IntakeItem.signal_id).where(
            IntakeItem.account_id == sig.account_id,
            IntakeItem.content_hash == digest,
            IntakeItem.signal_id != sig.id,
        )
    ).first()
    stored = session.scalars(
        select(SignalRecord.id).where(
            SignalRecord.account_id == sig.account_id,
            SignalRecord.content_hash == digest,
            SignalRecord.id != sig.id,
        )
    ).first()
    return queued is not None or stored is not None


def drain(sessions: sessionmaker[Session], index: VectorIndex, *, limit: int = 500) -> IngestReport:
    """Store and index queued items through ``retrieval.ingest``, then mark them ingested."""
    with sessions() as session:
        items = list(
            session.scalars(
                select(IntakeItem)
                .where(IntakeItem.status == "queued")
                .order_by(IntakeItem.received_at, IntakeItem.signal_id)
                .limit(limit)
            )
        )
    report = IngestReport()
    if not items:
        return report
    signals = [Signal.model_validate(i.payload) for i in items]
    # ingest's own per-batch transactions; a crash before the mark below only means the
    # next drain finds these items "unchanged" and marks them then.
    _store_signals(
        Path("intake"), signals, index=index, sessions=sessions, report=report, tick=lambda _n: None
    )
    failed = {e.problem.split(":", 1)[0].removeprefix("signal ") for e in report.errors}
    with transaction(sessions) as session:
        for item in items:
            row = session.get(IntakeItem, item.signal_id)
            if row is None or row.content_hash != item.content_hash:
                continue  # changed while we ingested; the next drain takes the new version
            if item.signal_id in failed:
                row.status, row.error = (
                    "rejected",
                    "; ".join(str(e) for e in report.errors if item.signal_id in e.problem),
                )
            else:
                row.status, row.ingested_at = "ingested", utcnow()
    return report
