"""Build the exact RFC 5322 bytes that approval freezes and sending transmits."""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses

from samdesk.errors import StateError
from samdesk.models import Draft, Revision


class _KeptHeaderClasses(HeaderRegistry):
    """The standard registry, but each header's class is made once, not on every header.

    ``HeaderRegistry`` builds a new class with ``type()`` for every header it parses. A
    quarter of an approval's CPU went to building the frozen message, and a quarter of that
    to making those classes. They are the same classes, so the bytes are the same too
    (tests/approval_ui/test_messages.py).
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.pop(name.lower(), None)


POLICY = SMTP.clone(header_factory=_KeptHeaderClasses())
CITATION_MARKER = re.compile(r"\s?\[[A-Za-z0-9][A-Za-z0-9._:/-]{1,127}\]")


def content_hash(subject: str, body: str, recipient: str) -> str:
    """What approval is bound to: any change of subject, body or recipient changes it."""
    payload = "\x1f".join((subject, body, recipient)).encode()
    return hashlib.sha256(payload).hexdigest()


def email_body(kind: str, body: str) -> str:
    """Outreach goes to a customer, so citation markers (for the SAM) are removed."""
    return CITATION_MARKER.sub("", body) if kind == "outreach" else body


def email_subject(kind: str, subject: str) -> str:
    """The subject line as sent: without citation markers in outreach, like the body."""
    return CITATION_MARKER.sub("", subject).strip() if kind == "outreach" else subject


def email_preview(kind: str, subject: str, body: str) -> str:
    """What the reviewer is shown as the email: its subject line and body as sent."""
    return f"Subject: {email_subject(kind, subject)}\n\n{email_body(kind, body)}"


def recipients(revision: Revision) -> list[str]:
    addresses = [addr for _name, addr in getaddresses([revision.recipient]) if "@" in addr]
    if not addresses:
        raise StateError(
            f"recipient {revision.recipient!r} has no email address; edit the recipient first"
        )
    return addresses


def message_id(draft: Draft, revision: Revision, domain: str) -> str:
    """Deterministic, so a retried send of the same revision carries the same Message-ID."""
    return f"<samdesk.d{draft.id}.r{revision.number}.{revision.content_hash[:12]}@{domain}>"


def build_message(draft: Draft, revision: Revision, *, mail_from: str) -> tuple[str, bytes]:
    recipients(revision)
    subject = email_subject(draft.kind, revision.subject)
    if not subject:
        raise StateError("the subject is nothing but citation markers; write a subject first")
    for name, value in (("subject", subject), ("recipient", revision.recipient)):
        if len(value.splitlines()) > 1:  # the email package would raise a bare ValueError
            raise StateError(f"the {name} contains a line break; edit it to a single line first")
    domain = mail_from.rpartition("@")[2] or "samdesk.local"
    msg = EmailMessage(policy=POLICY)
    msg["From"] = mail_from
    msg["To"] = revision.recipient
    msg["Subject"] = subject
    msg["Date"] = draft.approved_at or revision.created_at  # formatted as format_datetime does
    msg["Message-ID"] = message_id(draft, revision, domain)
    msg["X-Samdesk-Draft"] = str(draft.id)
    msg["X-Samdesk-Revision"] = f"{revision.number} {revision.content_hash}"
    msg.set_content(email_body(draft.kind, revision.body))
    return msg["Message-ID"], msg.as_bytes()
