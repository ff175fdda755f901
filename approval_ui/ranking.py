"""The queue's order, read from an index instead of computed over every open draft.

A draft's priority depends on the time (signals age, meetings come closer), so it cannot be
stored. What it depends on besides the time can: ``priority.Inputs`` lives on the draft's
``rank_*`` columns, which the listeners below keep up to date whenever a draft or a signal
is written. Within one account (one strategic score) and one kind of trigger, the order by
priority is then the order of an index (``ix_drafts_rank``: a published signal's urgency
is monotone in ``rank_key``; passed meetings and drafts without a dated trigger have a
constant urgency, so they come newest first), except for the few drafts whose urgency still
changes shape with time (signals dated in the future, meetings from yesterday on), which
are read whole. :func:`top` reads the first ``count`` rows of each such stream for every
account and merges them by priority, all in one statement: the first ``count`` of the merge
are exactly the first ``count`` of the queue, however many drafts are open. Text search reads
its matches whole and ranks them with :func:`rank`, the same order computed in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    event,
    func,
    inspect,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session

from approval_ui import priority
from approval_ui.permissions import Principal, visible
from samdesk.models import Account, Draft, SignalRecord

# Columns a ranked row needs: no JSON, nothing that is not in the index or the row header.
COLUMNS = (
    Draft.id,
    Draft.account_id,
    Draft.created_at,
    Draft.rank_kind,
    Draft.rank_at,
    Draft.rank_key,
    Draft.rank_label,
    Account.strategic_score,
)
WEEK_S = priority.MEETING_SCALE_DAYS * priority.DAY_S
# The queue sorts by priority to this many decimals (then newest first): enough to order any
# two drafts whose priorities really differ, few enough that float noise between equal ones
# (exp here, powers of 0.5 there; SQL or Python) never decides.
SORT_DIGITS = 9


@dataclass(frozen=True)
class Row:
    """One open draft in queue order: ``sort`` is its place, ``priority`` what people see."""

    id: int
    sort: tuple[float, float, int]
    priority: priority.Priority


def sort_value(kind: str, at: float | None, key: float, score: float, t: float) -> float:
    """The priority the queue sorts by, computed as :func:`_total` does in SQL."""
    if kind == "signal" and at is not None:
        urgency = (
            math.exp(key - at * priority.DECAY_PER_S)
            if at > t
            else math.exp(key - t * priority.DECAY_PER_S)
        )
    elif kind == "meeting" and at is not None:
        if at < t - priority.DAY_S:
            urgency = priority.PASSED_MEETING_URGENCY
        elif at <= t:
            urgency = 1.0
        else:
            urgency = 1.0 / (1.0 + (at - t) / WEEK_S)
    else:
        urgency = priority.NO_TRIGGER_URGENCY
    return round(score * 0.005 + 0.5 * urgency, SORT_DIGITS)


def rank(rows: Iterable[Any], now: datetime) -> list[Row]:
    """``rows`` (of :data:`COLUMNS`) in queue order: priority, then newest, then highest id."""
    t = now.timestamp()
    ranked = [
        Row(
            row.id,
            (
                -sort_value(row.rank_kind, row.rank_at, row.rank_key, row.strategic_score, t),
                -row.created_at.timestamp(),
                -row.id,
            ),
            shown(row, now),
        )
        for row in rows
    ]
    ranked.sort(key=lambda r: r.sort)
    return ranked


def shown(row: Any, now: datetime) -> priority.Priority:
    stored = priority.Inputs(row.rank_kind, row.rank_at, row.rank_label)
    return priority.ranked(stored, row.strategic_score, now)[1]


def top(
    session: Session,
    *,
    status: str,
    accounts: Sequence[str],
    user: Principal | None,
    kind: str | None,
    count: int,
    now: datetime,
) -> list[Row]:
    """The first ``count`` drafts with ``status`` of ``accounts`` that ``user`` may see (and of
    ``kind``), in queue order, reading at most ``count`` rows of each account's streams."""
    if count <= 0 or not accounts:
        return []
    t = now.timestamp()
    viewer = None if user is None else Principal(0, user.email.lower(), "", user.role)
    if session.get_bind().dialect.name == "postgresql":
        statement = _lateral_statement(viewer, kind)
        params: dict[str, Any] = {"accounts": list(accounts)}
    else:
        statement = _statement(len(accounts), viewer, kind)
        params = {f"a{i}": account_id for i, account_id in enumerate(accounts)}
    params.update(status=status, n=count, t=t, t_day=t - priority.DAY_S)
    params["ct"] = t * priority.DECAY_PER_S
    return [
        Row(row.id, (0.0, 0.0, 0), shown(row, now)) for row in session.execute(statement, params)
    ]


@lru_cache(maxsize=256)
def _statement(accounts: int, viewer: Principal | None, kind: str | None) -> Select[Any]:
    """The query of :func:`top` for this many accounts, viewer and kind, built once: its
    parameters are bound per call, so SQLAlchemy's compiled cache finds it at no cost."""
    n = bindparam("n", type_=Integer)
    t = bindparam("t", type_=Double)
    t_day = bindparam("t_day", type_=Double)
    status = bindparam("status", type_=String)
    where: list[ColumnElement[bool]] = [Draft.status == status]
    if viewer is not None:
        where.append(visible(viewer))
    if kind:
        where.append(Draft.kind == kind)
    by_index = (Draft.rank_key.desc(), Draft.created_at.desc(), Draft.id.desc())
    parts: list[Any] = []
    for i in range(accounts):
        base = (
            select(*COLUMNS)
            .join(Account, Account.id == Draft.account_id)
            .where(Draft.account_id == bindparam(f"a{i}", type_=String), *where)
        )
        parts += [
            base.where(Draft.rank_kind == "signal", Draft.rank_at <= t)
            .order_by(*by_index)
            .limit(n),
            base.where(Draft.rank_kind == "meeting", Draft.rank_at < t_day)
            .order_by(*by_index)
            .limit(n),
            base.where(Draft.rank_kind == "none").order_by(*by_index).limit(n),
            # urgency still changes shape with time: few rows, read whole (two parts: each
            # one range of ix_drafts_rank_at, where an OR would scan the account's drafts)
            base.where(Draft.rank_kind == "signal", Draft.rank_at > t),
            base.where(Draft.rank_kind == "meeting", Draft.rank_at >= t_day),
        ]
    # SQLite takes ORDER BY / LIMIT only on a whole compound select: wrap each part.
    merged = union_all(*(select(*part.subquery().c) for part in parts)).subquery()
    total = _total(merged.c, t, t_day)
    return (
        select(*merged.c)
        .order_by(total.desc(), merged.c.created_at.desc(), merged.c.id.desc())
        .limit(n)
    )


@lru_cache(maxsize=64)
def _lateral_statement(viewer: Principal | None, kind: str | None) -> Select[Any]:
    """:func:`_statement` for PostgreSQL: the same streams, read once per account by a
    LATERAL join (35 parts for 7 accounts cost PostgreSQL more to plan than to run)."""
    n = bindparam("n", type_=Integer)
    t = bindparam("t", type_=Double)
    t_day = bindparam("t_day", type_=Double)
    status = bindparam("status", type_=String)
    outer = (
        select(Account.id.label("account"))
        .where(Account.id.in_(bindparam("accounts", expanding=True)))
        .subquery("acc")
    )
    where: list[ColumnElement[bool]] = [Draft.status == status, Draft.account_id == outer.c.account]
    if viewer is not None:
        where.append(visible(viewer))
    if kind:
        where.append(Draft.kind == kind)
    by_index = (Draft.rank_key.desc(), Draft.created_at.desc(), Draft.id.desc())
    base = select(*COLUMNS).join(Account, Account.id == Draft.account_id).where(*where)
    parts: list[Any] = [
        base.where(Draft.rank_kind == "signal", Draft.rank_at <= t).order_by(*by_index).limit(n),
        base.where(Draft.rank_kind == "meeting", Draft.rank_at < t_day)
        .order_by(*by_index)
        .limit(n),
        base.where(Draft.rank_kind == "none").order_by(*by_index).limit(n),
        base.where(Draft.rank_kind == "signal", Draft.rank_at > t),
        base.where(Draft.rank_kind == "meeting", Draft.rank_at >= t_day),
    ]
    streams = union_all(
        *(select(*part.correlate(outer).subquery().c).correlate(outer) for part in parts)
    ).lateral("streams")
    merged = select(*streams.c).select_from(outer.join(streams, true())).subquery()
    total = _total(merged.c, t, t_day)
    return (
        select(*merged.c)
        .order_by(total.desc(), merged.c.created_at.desc(), merged.c.id.desc())
        .limit(n)
    )


def _total(c: Any, t: Any, t_day: Any) -> ColumnElement[float]:
    """:func:`sort_value` in SQL."""
    ct = bindparam("ct", type_=Double)
    urgency = case(
        (
            and_(c.rank_kind == "signal", c.rank_at > t),
            func.exp(c.rank_key - c.rank_at * priority.DECAY_PER_S),
        ),
        (c.rank_kind == "signal", func.exp(c.rank_key - ct)),
        (
            and_(c.rank_kind == "meeting", c.rank_at < t_day),
            literal(priority.PASSED_MEETING_URGENCY, Double),
        ),
        (and_(c.rank_kind == "meeting", c.rank_at <= t), literal(1.0, Double)),
        (c.rank_kind == "meeting", 1.0 / (1.0 + (c.rank_at - t) / WEEK_S)),
        else_=literal(priority.NO_TRIGGER_URGENCY, Double),
    )
    total = c.strategic_score * 0.005 + 0.5 * urgency
    rounded: ColumnElement[float] = func.round(cast(total, Numeric), SORT_DIGITS)
    return rounded


# --- keeping the rank_* columns up to date -------------------------------------------------


def fill(connection: Connection, draft: Draft, sources: list[Any]) -> None:
    """Set ``draft.rank_*`` from its kind, trigger and the trigger signal as stored now."""
    trigger: dict[str, Any] = draft.trigger or {}
    signal_id = priority.signal_of(draft.kind, trigger)
    fact: priority.Fact | None = None
    if signal_id:
        row = connection.execute(
            select(SignalRecord.type, SignalRecord.published_at).where(SignalRecord.id == signal_id)
        ).first()
        fact = (row.type, row.published_at) if row else priority.from_sources(sources, signal_id)
    stored = priority.inputs(draft.kind, trigger, fact)
    draft.rank_kind = stored.kind
    draft.rank_at = stored.at
    draft.rank_key = stored.key
    draft.rank_label = stored.label[:40]
    draft.rank_signal_id = signal_id


@event.listens_for(Draft, "before_insert")
def _draft_inserted(_mapper: Mapper[Draft], connection: Connection, draft: Draft) -> None:
    fill(connection, draft, draft.sources or [])


@event.listens_for(Draft, "before_update")
def _draft_updated(_mapper: Mapper[Draft], connection: Connection, draft: Draft) -> None:
    state = inspect(draft)
    if not any(state.attrs[name].history.has_changes() for name in ("kind", "trigger", "sources")):
        return
    if "sources" in state.unloaded:  # deferred by a lean query: read it without the session
        sources = connection.execute(select(Draft.sources).where(Draft.id == draft.id)).scalar()
    else:
        sources = draft.sources
    fill(connection, draft, sources or [])


@event.listens_for(SignalRecord, "after_insert")
def _signal_inserted(_mapper: Mapper[SignalRecord], connection: Connection, signal: Any) -> None:
    """A trigger signal stored after its drafts: they rank by it from now on."""
    _rerank_signal(connection, signal)


@event.listens_for(SignalRecord, "after_update")
def _signal_updated(_mapper: Mapper[SignalRecord], connection: Connection, signal: Any) -> None:
    state = inspect(signal)
    if any(state.attrs[name].history.has_changes() for name in ("type", "published_at")):
        _rerank_signal(connection, signal)


def _rerank_signal(connection: Connection, signal: SignalRecord) -> None:
    stored = priority.Inputs("signal", signal.published_at.timestamp(), signal.type)
    connection.execute(
        update(Draft)
        .where(Draft.rank_signal_id == signal.id)
        .values(
            rank_kind="signal", rank_at=stored.at, rank_key=stored.key, rank_label=stored.label[:40]
        )
    )
