"""One watcher at a time: a lease row in the database that its holder keeps renewing.

Taking or renewing the lease is a single conditional UPDATE, so two processes racing for
it cannot both win on SQLite or PostgreSQL. A holder that died on this machine (its pid
is gone) is replaced at once; elsewhere its lease simply runs out.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from samdesk.db import transaction
from samdesk.models import SchedulerLease


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this host and its process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        name: str = "watch",
        holder: str | None = None,
        ttl_s: float = 120.0,
    ):
        self.sessions = sessions
        self.name = name
        self.holder = holder or holder_id()
        self.ttl = timedelta(seconds=ttl_s)

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        with transaction(self.sessions) as session:
            current = session.get(SchedulerLease, self.name)
            if current is None:
                try:
                    with session.begin_nested():
                        session.execute(
                            insert(SchedulerLease).values(
                                name=self.name,
                                holder=self.holder,
                                expires_at=now + self.ttl,
                                acquired_at=now,
                            )
                        )
                    return True
                except IntegrityError:
                    return False
            observed = current.holder
            takeover = observed != self.holder and holder_is_dead(observed)
            conditions = [SchedulerLease.holder == self.holder, SchedulerLease.expires_at <= now]
            if takeover:
                conditions.append(SchedulerLease.holder == observed)
            values: dict[str, object] = {"holder": self.holder, "expires_at": now + self.ttl}
            if observed != self.holder:
                values["acquired_at"] = now
            result = session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, or_(*conditions))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def release(self) -> None:
        with transaction(self.sessions) as session:
            lease = session.get(SchedulerLease, self.name)
            if lease is not None and lease.holder == self.holder:
                session.delete(lease)
