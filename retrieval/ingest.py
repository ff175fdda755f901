"""Load plan and signal files into the database and the vector index.

Idempotent by design: every item is keyed by its stable id and content hash, so a re-run
changes nothing, a corrected item replaces its old version, and a bad item is reported
without touching what was already stored. Signal files are streamed in batches, so memory
does not grow with a file's size. If the database refuses a batch (full, locked), the
chunks it had just added to the index are taken out again and the error goes up: the index
never serves a signal or plan the database does not hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from retrieval.chunks import Chunk, plan_chunks, signal_chunk
from retrieval.index import VectorIndex
from retrieval.plans import MAX_PLAN_BYTES, load_plan
from retrieval.schemas import AccountPlan, Signal
from retrieval.signals import MAX_LINE_BYTES, read_signals
from samdesk.db import transaction
from samdesk.errors import InputError
from samdesk.models import Account, SignalRecord, utcnow

BATCH = 64
Progress = Callable[[int], None]


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks_removed: int = 0
    errors: list[InputError] = field(default_factory=list)
    # Signals kept but marked as possible prompt injections: (signal id, reasons).
    marked: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} rejected"
            + (f", {len(self.marked)} marked as possible prompt injection" if self.marked else "")
        )


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[InputError]]:
    """Plans (``.md``) and signal files (``.jsonl``) under ``paths``, in a stable order."""
    plans: list[Path] = []
    signals: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".md":
                plans.append(file)
            elif file.suffix == ".jsonl":
                signals.append(file)
            elif not path.is_dir():
                errors.append(InputError(file, None, None, "expected a .md plan or .jsonl signals"))
    return plans, signals, errors


def ingest(
    paths: Iterable[Path],
    *,
    index: VectorIndex,
    sessions: sessionmaker[Session],
    progress: Progress | None = None,
    max_plan_bytes: int = MAX_PLAN_BYTES,
    max_signal_bytes: int = MAX_LINE_BYTES,
) -> IngestReport:
    """Store and index every valid item under ``paths``; report each bad one with its place.

    A database that refuses a write raises (``sqlalchemy.exc.DBAPIError``): earlier batches
    stay stored, the refused one is neither stored nor indexed, and a re-run carries on.
    """
    plan_files, signal_files, errors = collect_files(paths)
    report = IngestReport(errors=errors)
    tick = progress or (lambda _n: None)
    for path in plan_files:
        plan, problems = load_plan(path, max_bytes=max_plan_bytes)
        report.errors.extend(problems)
        if plan is not None:
            _store_plan(plan, index=index, sessions=sessions, report=report)
        tick(1)
    for path in signal_files:
        for batch in _batches(read_signals(path, max_line_bytes=max_signal_bytes), report):
            _store_batch(path, batch, index=index, sessions=sessions, report=report, tick=tick)
    return report


def _batches(
    items: Iterator[tuple[int, Signal] | InputError], report: IngestReport
) -> Iterator[list[tuple[int, Signal]]]:
    """Valid signals (with their lines) ``BATCH`` at a time; errors go to the report at once."""
    batch: list[tuple[int, Signal]] = []
    for item in items:
        if isinstance(item, InputError):
            report.errors.append(item)
            continue
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _store_plan(
    plan: AccountPlan, *, index: VectorIndex, sessions: sessionmaker[Session], report: IngestReport
) -> None:
    plan_json = plan.model_dump(mode="json")
    plan_hash = hashlib.sha256(plan.model_dump_json().encode()).hexdigest()
    chunks = plan_chunks(plan)
    stored = index.hashes([c.id for c in chunks])
    stale = sorted(index.ids_for(plan.account_id, "plan") - {c.id for c in chunks})
    changed = [c for c in chunks if stored.get(c.id) != c.content_hash]
    try:
        with transaction(sessions) as session:
            account = session.get(Account, plan.account_id)
            if account is not None and account.plan_hash == plan_hash and not changed and not stale:
                report.unchanged += 1
                return
            # Index first: if it fails, the database still describes the old plan and a re-run
            # heals. Stale chunks go only once the database holds the new plan.
            index.upsert(changed)
            _write_account(session, account, plan, plan_json, plan_hash, report)
    except DBAPIError:
        index.delete([c.id for c in changed if c.id not in stored])  # refused: not indexed
        raise
    index.delete(stale)
    report.chunks_removed += len(stale)


def _write_account(
    session: Session,
    account: Account | None,
    plan: AccountPlan,
    plan_json: dict[str, object],
    plan_hash: str,
    report: IngestReport,
) -> None:
    values = {
        "name": plan.name,
        "industry": plan.industry,
        "owner_sam": plan.owner_sam,
        "owner_email": plan.owner_email,
        "arr_usd": plan.arr_usd,
        "strategic_score": plan.strategic_score,
        "plan": plan_json,
        "plan_hash": plan_hash,
        "updated_at": utcnow(),
    }
    if account is None:
        session.add(Account(id=plan.account_id, **values))
        report.added += 1
    else:
        for key, value in values.items():
            setattr(account, key, value)
        report.updated += 1


def _store_signals(
    path: Path,
    signals: list[Signal],
    *,
    index: VectorIndex,
    sessions: sessionmaker[Session],
    report: IngestReport,
    tick: Progress,
) -> None:
    """Signals from elsewhere than a file (the intake queue), ``BATCH`` per transaction."""
    for start in range(0, len(signals), BATCH):
        batch: list[tuple[int | None, Signal]] = [(None, s) for s in signals[start : start + BATCH]]
        _store_batch(path, batch, index=index, sessions=sessions, report=report, tick=tick)


def _store_batch(
    path: Path,
    batch: Sequence[tuple[int | None, Signal]],
    *,
    index: VectorIndex,
    sessions: sessionmaker[Session],
    report: IngestReport,
    tick: Progress,
) -> None:
    """One batch in one transaction; chunks it added come out of the index if that fails."""
    added: list[str] = []
    try:
        with transaction(sessions) as session:
            known = {
                a
                for (a,) in session.query(Account.id).filter(
                    Account.id.in_({s.account_id for _, s in batch})
                )
            }
            existing = {
                r.id: r
                for r in session.query(SignalRecord).filter(
                    SignalRecord.id.in_([s.id for _, s in batch])
                )
            }
            indexed = index.hashes([s.id for _, s in batch])
            pending: list[tuple[Signal, Chunk]] = []
            for line, signal in batch:
                if signal.account_id not in known:
                    report.errors.append(
                        InputError(
                            path,
                            line,
                            "account_id",
                            f"signal {signal.id}: unknown account {signal.account_id!r} "
                            "(ingest its plan first)",
                        )
                    )
                    continue
                chunk = signal_chunk(signal)
                if chunk.flags:
                    report.marked.append((signal.id, chunk.flags))
                record = existing.get(signal.id)
                if _unchanged(record, signal, chunk, indexed.get(signal.id)):
                    report.unchanged += 1
                    continue
                pending.append((signal, chunk))
            index.upsert([chunk for _, chunk in pending])
            added = [signal.id for signal, _ in pending if signal.id not in indexed]
            for signal, chunk in pending:
                _upsert_signal(session, existing.get(signal.id), signal, chunk, report)
    except DBAPIError:
        index.delete(added)  # the database refused them: the index must not serve them either
        raise
    tick(len(batch))


def _unchanged(
    record: SignalRecord | None, signal: Signal, chunk: Chunk, indexed_hash: str | None
) -> bool:
    """Stored and indexed exactly as given: same text, same metadata, present in the index."""
    return (
        record is not None
        and indexed_hash == chunk.content_hash
        and (record.content_hash, record.account_id, record.type, record.url, record.published_at)
        == (
            chunk.content_hash,
            signal.account_id,
            signal.type,
            str(signal.source_url),
            signal.published_at,
        )
    )


def _upsert_signal(
    session: Session,
    record: SignalRecord | None,
    signal: Signal,
    chunk: Chunk,
    report: IngestReport,
) -> None:
    values = {
        "account_id": signal.account_id,
        "type": signal.type,
        "title": signal.title,
        "text": signal.text,
        "url": str(signal.source_url),
        "published_at": signal.published_at,
        "content_hash": chunk.content_hash,
    }
    if record is None:
        session.add(SignalRecord(id=signal.id, **values))
        report.added += 1
        return
    for key, value in values.items():
        setattr(record, key, value)
    report.updated += 1
