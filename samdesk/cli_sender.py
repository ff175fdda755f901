"""``samdesk sender``: the process that delivers approved messages, apart from the desk."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from samdesk.config import get_settings

console = Console()
err = Console(stderr=True)


def sender(
    once: Annotated[
        bool, typer.Option(help="Deliver what is due now, then exit (for cron).")
    ] = False,
    interval: Annotated[
        float,
        typer.Option(envvar="SAMDESK_SENDER_INTERVAL_S", help="Seconds between looks."),
    ] = 5.0,
    batch: Annotated[
        int,
        typer.Option(envvar="SAMDESK_SENDER_BATCH", help="Most messages sent per look."),
    ] = 50,
) -> None:
    """Deliver approved outbox messages: retry transient failures with backoff, mark sends a
    killed sender left unfinished as unknown, and expire stale approval requests."""
    from approval_ui.delivery import make_sender
    from approval_ui.outbox_worker import OutboxWorker
    from samdesk.db import make_engine, migrate, session_factory

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    worker = OutboxWorker(
        session_factory(engine), make_sender(settings), settings=settings, batch=batch
    )

    def finish(signum: int, _frame: FrameType | None) -> None:
        err.print(f"signal {signum}: stopping after the message in flight")
        worker.stop()

    signal.signal(signal.SIGTERM, finish)
    try:
        if once:
            console.print(worker.drain().summary(), soft_wrap=True, highlight=False)
            return
        for report in worker.run(interval):
            if not report.idle:
                console.print(report.summary(), soft_wrap=True, highlight=False)
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        engine.dispose()
