"""The audit trail as CSV, for compliance reviews and spreadsheets.

Cells are neutralised against spreadsheet formula injection (OWASP "CSV injection"): a
draft's text and a reviewer's reason are user or model input, and a cell that starts with
``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from approval_ui.permissions import Principal, visible
from samdesk.models import Account, AuditEvent, Draft

COLUMNS = (
    "event_id",
    "at",
    "draft_id",
    "account_id",
    "kind",
    "action",
    "actor",
    "revision_hash",
    "detail",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def events(
    session: Session, user: Principal, draft_id: int | None = None
) -> list[tuple[AuditEvent, Draft]]:
    query = (
        select(AuditEvent, Draft)
        .join(Draft, Draft.id == AuditEvent.draft_id)
        .join(Account, Account.id == Draft.account_id)
        .where(visible(user))
        .order_by(AuditEvent.id)
    )
    if draft_id is not None:
        query = query.where(AuditEvent.draft_id == draft_id)
    return [(event, draft) for event, draft in session.execute(query)]


def to_csv(rows: Iterable[tuple[AuditEvent, Draft]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for event, draft in rows:
        writer.writerow(
            _cell(v)
            for v in (
                event.id,
                event.at.isoformat(),
                draft.id,
                draft.account_id,
                draft.kind,
                event.action,
                event.actor,
                event.revision_hash,
                json.dumps(event.detail, sort_keys=True),
            )
        )
    return buffer.getvalue()
