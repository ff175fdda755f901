"""The ``samdesk`` command line: ingest, draft, review queue, desk server, embedded model, demo."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

# Startup stays fast because this module and the cli_* modules it wires in import only typer,
# rich and the settings at module level. The heavy parts (the runtime with its index and model
# client, SQLAlchemy and Alembic, the desk server) are imported inside the commands that use
# them, so `samdesk --help` and `samdesk <command> --help` never load them
# (tests/samdesk/test_cli_startup.py checks this).
from samdesk import cli_redteam, cli_sender, logs
from samdesk.cli_db import db_app
from samdesk.cli_eval import eval_app
from samdesk.cli_users import seed_demo_team, users_app
from samdesk.cli_watch import watch_app
from samdesk.config import Settings, get_settings
from samdesk.errors import SamdeskError

if TYPE_CHECKING:
    from samdesk.runtime import Runtime

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
draft_app = typer.Typer(
    help="Draft a briefing or an outreach email into the review queue.", no_args_is_help=True
)
llm_app = typer.Typer(help="The embedded model server.", no_args_is_help=True)
app.add_typer(draft_app, name="draft")
app.add_typer(llm_app, name="llm")
app.command("redteam")(cli_redteam.redteam)
app.add_typer(eval_app, name="eval")
app.add_typer(users_app, name="users")
app.add_typer(watch_app)  # watch, sources, triage (no group name: merged)
app.command("sender")(cli_sender.sender)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)
SAMPLES = Path(__file__).resolve().parent.parent / "samples"

AsOf = Annotated[datetime | None, typer.Option(help="Pretend today is this date (UTC).")]
WORKER_STARTUP_S = 120  # how long `serve --workers N` waits for a worker to answer


def main() -> None:
    try:
        logs.setup(get_settings().log_level)
        app()
    except SamdeskError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        sys.exit(1)
    except Exception as exc:
        from approval_ui.db_errors import unavailable

        outage = unavailable(exc)  # None unless a database (SQLAlchemy or sqlite3) is out
        if outage is None:
            raise
        err.print(f"[red]error:[/red] {outage}", soft_wrap=True, highlight=False)
        sys.exit(1)


def _as_of(value: datetime | None) -> datetime:
    return value.replace(tzinfo=UTC) if value else datetime.now(UTC)


def _runtime() -> Runtime:
    from samdesk.runtime import Runtime

    return Runtime.open(get_settings())


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Plan .md and signal .jsonl files or folders of them.")
    ],
) -> None:
    """Validate and index account plans and signals (idempotent: re-running changes nothing)."""
    runtime = _runtime()
    _ingest(runtime, paths)


def _ingest(runtime: Runtime, paths: list[Path]) -> None:
    from retrieval.ingest import collect_files
    from retrieval.ingest import ingest as run_ingest
    from retrieval.signals import count_lines

    plans, signal_files, _ = collect_files(paths)
    total = len(plans) + sum(count_lines(f) for f in signal_files)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("Ingesting", total=total)
        report = run_ingest(
            paths,
            index=runtime.index,
            sessions=runtime.sessions,
            progress=lambda n: progress.advance(task, n),
            max_plan_bytes=runtime.settings.max_plan_bytes,
            max_signal_bytes=runtime.settings.max_signal_bytes,
        )
    for signal_id, reasons in report.marked:
        err.print(
            f"[yellow]marked[/yellow] {signal_id}: possible prompt injection "
            f"({', '.join(reasons)})",
            soft_wrap=True,
            highlight=False,
        )
    for problem in report.errors:
        err.print(f"[yellow]rejected[/yellow] {problem}", soft_wrap=True, highlight=False)
    console.print(f"Ingest: {report.summary()}; index holds {runtime.index.count()} chunks.")
    if report.errors:
        raise typer.Exit(1)


@draft_app.command("outreach")
def draft_outreach(
    account: str,
    signal: str,
    prompt: Annotated[
        str | None, typer.Option(help="kind@version (default: the promoted one)")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Draft an outreach email to the right stakeholder, triggered by SIGNAL."""
    draft = _runtime().draft_outreach(account, signal, prompt=prompt, as_of=_as_of(as_of))
    _report_draft(draft.id, draft.status, draft.failure_reason, len(draft.findings))


@draft_app.command("briefing")
def draft_briefing(
    account: str,
    meeting: Annotated[str | None, typer.Option(help="Meeting title")] = None,
    prompt: Annotated[
        str | None, typer.Option(help="kind@version (default: the promoted one)")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Draft a pre-meeting executive briefing (the account's next meeting by default)."""
    draft = _runtime().draft_briefing(account, meeting, prompt=prompt, as_of=_as_of(as_of))
    _report_draft(draft.id, draft.status, draft.failure_reason, len(draft.findings))


def _report_draft(draft_id: int, status: str, reason: str | None, findings: int) -> None:
    if status == "failed":
        err.print(f"[red]draft {draft_id} failed:[/red] {reason}", soft_wrap=True, highlight=False)
        raise typer.Exit(1)
    console.print(
        f"draft {draft_id} is {status} with {findings} finding(s); review it in the desk."
    )


@app.command("queue")
def show_queue(
    account: str | None = None, kind: str | None = None, status: str | None = None
) -> None:
    """List drafts in review order."""
    from approval_ui.queue import QueueFilter, list_drafts, summary

    runtime = _runtime()
    table = Table("id", "account", "kind", "status", "flags", "subject")
    with runtime.sessions() as session:
        filters = QueueFilter(account_id=account, kind=kind, status=status)
        for draft in list_drafts(session, filters):
            row = summary(draft)
            table.add_row(
                str(row["id"]),
                row["account_id"],
                row["kind"],
                row["status"],
                str(row["flags"]),
                row["subject"] or "",
            )
    console.print(table)


@app.command()
def serve(
    host: str | None = None,
    port: int | None = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes serving the desk (a team: use PostgreSQL).")
    ] = 1,
) -> None:
    """Serve the approval desk."""
    import uvicorn

    from approval_ui.main import create_app
    from samdesk.db import make_engine, migrate

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port)
        return
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)  # once, before the workers start
    engine.dispose()
    # Each worker builds its own app (and engine) from the same environment. A new worker
    # imports the whole desk before it can answer uvicorn's health check: that takes longer
    # than uvicorn's 5 s default on a busy machine, which then kills and respawns it forever.
    uvicorn.run(
        "approval_ui.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_STARTUP_S,
    )


@llm_app.command("serve")
def llm_serve() -> None:
    """Run the embedded SmolLM2 model as an OpenAI-compatible server on loopback."""
    from samdesk import llm_server

    settings = get_settings()
    console.print(
        f"Serving {llm_server.model_path().name} on "
        f"http://127.0.0.1:{settings.embedded_llm_port}/v1"
    )
    os.execv(sys.executable, llm_server.command(settings))


@app.command()
def demo(
    samples: Annotated[Path, typer.Option(help="Sample plans and signals")] = SAMPLES,
    serve_desk: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    as_of: AsOf = None,
) -> None:
    """Ingest the sample accounts, draft for each, and open the desk."""
    from samdesk.runtime import Runtime

    settings = get_settings()
    runtime = Runtime.open(settings)
    server = _ensure_model(settings)
    try:
        _ingest_quietly(runtime, samples)
        _draft_demo(runtime, _as_of(as_of))
        seed_demo_team(runtime.sessions)
        if serve_desk:
            console.print(f"Approval desk: http://{settings.host}:{settings.port}  (Ctrl-C stops)")
            serve(None, None)
    finally:
        if server is not None:
            server.terminate()


def _ensure_model(settings: Settings) -> subprocess.Popen[bytes] | None:
    from samdesk import llm_server

    if settings.llm_endpoint().provider != "embedded" or llm_server.is_up(settings):
        return None
    console.print("Starting the embedded model server…")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return llm_server.start(settings, log=settings.data_dir / "llm-server.log")


def _ingest_quietly(runtime: Runtime, samples: Path) -> None:
    try:
        _ingest(runtime, [samples])
    except typer.Exit:
        err.print("[yellow]Some sample items were rejected; continuing with the rest.[/yellow]")


def _draft_demo(runtime: Runtime, as_of: datetime) -> None:
    targets = [
        (kind, account, trigger)
        for kind, account, trigger in runtime.demo_targets(as_of)
        if not runtime.has_draft(account, kind, trigger)
    ]
    with Progress(console=err) as progress:
        task = progress.add_task("Drafting", total=len(targets))
        for kind, account, trigger in targets:
            if kind == "briefing":
                runtime.draft_briefing(account, trigger["title"], as_of=as_of)
            else:
                runtime.draft_outreach(account, trigger["signal_id"], as_of=as_of)
            progress.advance(task)
    console.print(f"Drafted {len(targets)} new draft(s).")
