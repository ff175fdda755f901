"""``POST /api/signals``: signals pushed by other systems, signed as Standard Webhooks does.

A sender proves who it is twice: an API token (``Authorization: Bearer``, stored as its
SHA-256) and an HMAC-SHA256 signature of ``{webhook-id}.{webhook-timestamp}.{body}`` with
its signing secret. A timestamp more than five minutes off is refused, and so is a
``webhook-id`` already accepted (a replay); the signal itself is idempotent by its id.
Accepted signals are queued; the watcher stores, indexes and triages them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from approval_ui.deps import SessionsDep
from retrieval.sources.intake import Candidate, RawItem, account_names, enqueue, validate
from retrieval.sources.registry import find_by_token
from samdesk.db import transaction
from samdesk.models import WebhookDelivery

router = APIRouter(prefix="/api", tags=["signals"])
TOLERANCE_S = 5 * 60
MAX_BODY = 1_000_000


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature a sender puts in ``webhook-signature``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signature_ok(secret: str, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    try:
        expected = sign(secret, msg_id, timestamp, body).encode()
    except (binascii.Error, ValueError):
        return False
    # the header may list several signatures (secret rotation); any v1 match will do
    return any(hmac.compare_digest(expected, given.encode()) for given in header.split())


def _refuse(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


@router.post(
    "/signals",
    status_code=202,
    responses={
        401: {"description": "bad token, signature or timestamp"},
        409: {"description": "this webhook-id was already accepted (nothing lost: it is stored)"},
        413: {"description": "body larger than 1 MB"},
        422: {"description": "not a valid signal; the problem names the field"},
    },
)
async def receive_signal(
    request: Request,
    sessions: SessionsDep,
    authorization: Annotated[str, Header()] = "",
    webhook_id: Annotated[str, Header()] = "",
    webhook_timestamp: Annotated[str, Header()] = "",
    webhook_signature: Annotated[str, Header()] = "",
) -> JSONResponse:
    """Accept one signal (the JSON of ``retrieval.schemas.Signal``; ``type`` may be left out)."""
    scheme, _, token = authorization.partition(" ")
    with sessions() as session:
        source = find_by_token(session, token.strip()) if scheme.lower() == "bearer" else None
        source_id, secret = (source.id, source.signing_secret) if source else (None, None)
    if source_id is None or not secret:
        return _refuse(401, "unknown or missing API token (Authorization: Bearer …)")
    if not (webhook_id and webhook_timestamp and webhook_signature):
        return _refuse(400, "missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(webhook_timestamp)
    except ValueError:
        return _refuse(401, "webhook-timestamp must be Unix seconds")
    skew = abs(datetime.now(UTC).timestamp() - timestamp)
    if skew > TOLERANCE_S:
        return _refuse(401, f"webhook-timestamp is {skew:.0f} s off; the window is {TOLERANCE_S} s")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(413, f"body larger than {MAX_BODY} bytes")
    if not signature_ok(secret, webhook_id, timestamp, body, webhook_signature):
        return _refuse(401, "signature does not match (HMAC-SHA256 of id.timestamp.body)")
    with sessions() as session:
        seen = session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.source_id == source_id, WebhookDelivery.webhook_id == webhook_id
            )
        )
        if seen is not None:
            return _replayed(seen)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _refuse(422, f"body is not JSON ({exc})")
    if not isinstance(data, dict):
        return _refuse(422, "body must be one JSON object (a signal)")
    where = f"webhook {webhook_id}"
    try:
        with transaction(sessions) as session:
            checked = validate(RawItem(where, data), account_names(session))
            if not isinstance(checked, Candidate):
                return _refuse(
                    422,
                    "; ".join(str(e) for e in checked),
                    errors=[{"field": e.field, "problem": e.problem} for e in checked],
                )
            report = enqueue(session, [checked], source_id=source_id)
            status = _status(report.queued, report.updated, report.duplicates)
            session.add(
                WebhookDelivery(
                    source_id=source_id,
                    webhook_id=webhook_id,
                    signal_id=checked.signal.id,
                    outcome=status,
                )
            )
    except IntegrityError:  # the same id delivered twice at once: the other request won
        return _refuse(409, f"webhook-id {webhook_id!r} was already received")
    return JSONResponse(
        {
            "id": checked.signal.id,
            "status": status,
            "type": checked.signal.type,
            "type_declared": checked.type_declared,
        },
        status_code=202,
    )


def _status(queued: int, updated: int, duplicates: int) -> str:
    if queued:
        return "queued"
    if updated:
        return "updated"
    return "duplicate" if duplicates else "unchanged"


def _replayed(seen: WebhookDelivery) -> JSONResponse:
    return _refuse(
        409,
        f"webhook-id {seen.webhook_id!r} was already received at "
        f"{seen.received_at:%Y-%m-%d %H:%M:%S} UTC (signal {seen.signal_id}, {seen.outcome})",
        id=seen.signal_id,
    )
