"""``samdesk watch``, ``samdesk sources …`` and ``samdesk triage``: intake without manual steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from samdesk.config import get_settings

if TYPE_CHECKING:
    from samdesk.runtime import Runtime

watch_app = typer.Typer(no_args_is_help=True)  # merged into the main app: no group name
sources_app = typer.Typer(
    help="Feeds, calendars, folders and webhook senders.", no_args_is_help=True
)
triage_app = typer.Typer(help="Triage stored signals, or measure triage quality.")
watch_app.add_typer(sources_app, name="sources")
watch_app.add_typer(triage_app, name="triage")
console = Console()
err = Console(stderr=True)
LABELLED = Path(__file__).resolve().parent.parent / "tests" / "retrieval" / "triage_labelled.jsonl"


def _runtime() -> Runtime:
    # The runtime (index, model client, database) loads only in the commands that use it, and
    # so do SQLAlchemy and samdesk.db below: `samdesk --help` stays fast (see cli.py).
    from samdesk.runtime import Runtime

    return Runtime.open(get_settings())


@watch_app.command("watch")
def watch(
    interval: Annotated[
        float,
        typer.Option(envvar="SAMDESK_WATCH_INTERVAL_S", help="Seconds between polls of a source."),
    ] = 900.0,
    tick: Annotated[
        float, typer.Option(envvar="SAMDESK_WATCH_TICK_S", help="Seconds between ticks.")
    ] = 60.0,
    briefing_hours: Annotated[
        float,
        typer.Option(
            envvar="SAMDESK_WATCH_BRIEFING_HOURS",
            help="Draft a briefing this long before a meeting.",
        ),
    ] = 24.0,
    llm_per_minute: Annotated[
        int,
        typer.Option(envvar="SAMDESK_WATCH_LLM_PER_MINUTE", help="Most LLM calls in any minute."),
    ] = 6,
    classifier: Annotated[
        str,
        typer.Option(
            envvar="SAMDESK_WATCH_CLASSIFIER",
            help="rules, hybrid (model when rules are unsure) or llm.",
        ),
    ] = "rules",
    retry_after: Annotated[
        float,
        typer.Option(
            envvar="SAMDESK_WATCH_RETRY_AFTER_S",
            help="Seconds before a draft that hit a model error is tried again.",
        ),
    ] = 600.0,
    as_of: Annotated[
        datetime | None, typer.Option(help="Pretend the watch starts at this time (UTC).")
    ] = None,
    once: Annotated[bool, typer.Option(help="One tick, then exit (for cron).")] = False,
    until_idle: Annotated[bool, typer.Option(help="Exit when nothing is left to draft.")] = False,
) -> None:
    """Poll sources, triage, and draft outreach and briefings until stopped (Ctrl-C)."""
    from retrieval.triage import RuleClassifier
    from retrieval.triage_llm import HybridClassifier, LLMClassifier
    from samdesk.pacing import OffsetClock, SystemClock
    from samdesk.watch import WatchConfig, Watcher

    runtime = _runtime()
    config = WatchConfig(
        poll_interval_s=interval,
        tick_s=tick,
        briefing_hours=briefing_hours,
        llm_per_minute=llm_per_minute,
        retry_after_s=retry_after,
        approval_ttl=timedelta(hours=runtime.settings.approval_ttl_hours),
    )
    clock = OffsetClock(as_of.replace(tzinfo=UTC)) if as_of else SystemClock()
    watcher = Watcher(runtime.sessions, runtime.index, runtime.drafter, config=config, clock=clock)
    if classifier == "hybrid":
        watcher.classifier = HybridClassifier(watcher.llm)
    elif classifier == "llm":
        watcher.classifier = LLMClassifier(watcher.llm, fallback=RuleClassifier())
    elif classifier != "rules":
        raise typer.BadParameter("use rules, hybrid or llm", param_hint="--classifier")
    try:
        if once:
            console.print(watcher.tick().summary(), soft_wrap=True, highlight=False)
            watcher.lease.release()
            return
        for report in watcher.run(until_idle=until_idle):
            console.print(report.summary(), soft_wrap=True, highlight=False)
    except KeyboardInterrupt:
        err.print("stopped")


@sources_app.command("add-feed")
def add_feed(
    name: str,
    url: Annotated[str, typer.Argument(help="RSS or Atom URL (or a local file).")],
    account: Annotated[str, typer.Option(help="The account every item of this feed is about.")],
) -> None:
    """Poll an RSS/Atom feed for one account."""
    _add("feed", name, url, account)


@sources_app.command("add-calendar")
def add_calendar(
    name: str, url: Annotated[str, typer.Argument(help="An .ics URL or file.")]
) -> None:
    """Watch an iCalendar file or URL for meetings with strategic accounts."""
    _add("calendar", name, url, None)


@sources_app.command("add-folder")
def add_folder(
    name: str,
    path: Path,
    mapping: Annotated[
        str | None, typer.Option(help="CSV column mapping file in that folder.")
    ] = None,
) -> None:
    """Watch a folder of signal .jsonl and .csv files (a CRM export drop, say)."""
    _add("folder", name, str(path.resolve()), None, {"mapping": mapping} if mapping else {})


@sources_app.command("add-webhook")
def add_webhook(name: str) -> None:
    """Create a webhook sender; its token and signing secret are shown once, here."""
    from retrieval.sources.registry import add_webhook as create
    from samdesk.db import transaction

    runtime = _runtime()
    with transaction(runtime.sessions) as session:
        creds = create(session, name=name)
    console.print(f"Webhook source {name!r} created. Store these now; they are not shown again.")
    console.print(f"  Authorization: Bearer {creds.token}", highlight=False, soft_wrap=True)
    console.print(f"  signing secret: {creds.secret}", highlight=False, soft_wrap=True)
    console.print("POST signed JSON signals to /api/signals (Standard Webhooks headers).")


def _add(
    kind: str, name: str, url: str, account: str | None, options: dict[str, str] | None = None
) -> None:
    from retrieval.sources.registry import add_source
    from samdesk.db import transaction

    runtime = _runtime()
    with transaction(runtime.sessions) as session:
        add_source(session, kind=kind, name=name, url=url, account_id=account, options=options)
    console.print(f"Added {kind} {name!r}; `samdesk watch` polls it.")


@sources_app.command("list")
def list_sources() -> None:
    """Every source with its last poll and its last problem."""
    from retrieval.sources.registry import list_sources as rows

    runtime = _runtime()
    table = Table("name", "kind", "account", "url", "last poll", "status", "items", "problem")
    with runtime.sessions() as session:
        for source, state in rows(session):
            table.add_row(
                source.name,
                source.kind,
                source.account_id or "",
                source.url or "",
                f"{state.polled_at:%Y-%m-%d %H:%M}" if state and state.polled_at else "never",
                (state.last_status or "") if state else "",
                str(state.items_seen if state else 0),
                ((state.last_error or "")[:80]) if state else "",
            )
    console.print(table)


@sources_app.command("import")
def import_file(
    path: Path,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping (YAML) for a CSV.")] = None,
) -> None:
    """Queue and ingest one CSV or JSONL file now (the watcher triages it on its next tick)."""
    from retrieval.signals import load_signals
    from retrieval.sources.csv_files import load_mapping, read_csv
    from retrieval.sources.intake import RawItem, account_names, drain, enqueue, validate_all
    from samdesk.db import transaction

    runtime = _runtime()
    if path.suffix == ".csv":
        raw, errors = read_csv(path, load_mapping(mapping))
    else:
        signals, errors = load_signals(path)
        raw = [RawItem(f"{path}:{s.id}", s.model_dump(mode="json")) for s in signals]
    with transaction(runtime.sessions) as session:
        good, invalid = validate_all(raw, account_names(session))
        report = enqueue(session, good, source_id=None)
    drained = drain(runtime.sessions, runtime.index)
    for problem in [*errors, *invalid, *drained.errors]:
        err.print(f"[yellow]rejected[/yellow] {problem}", soft_wrap=True, highlight=False)
    console.print(f"Import: {report.summary()}; indexed {drained.added + drained.updated}.")
    if errors or invalid:
        raise typer.Exit(1)


@triage_app.callback(invoke_without_command=True)
def triage(ctx: typer.Context, limit: int = 30) -> None:
    """Triage signals not yet decided and show the latest decisions with their reasons."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlalchemy import select

    from retrieval.triage import RuleClassifier
    from samdesk.models import TriageDecision
    from samdesk.pacing import SystemClock
    from samdesk.watch_triage import triage_pending

    runtime = _runtime()
    decided = triage_pending(
        runtime.sessions, classifier=RuleClassifier(), as_of=SystemClock().now()
    )
    table = Table("signal", "account", "type", "action", "score", "reason")
    with runtime.sessions() as session:
        rows = session.scalars(
            select(TriageDecision)
            .order_by(TriageDecision.decided_at.desc(), TriageDecision.score.desc())
            .limit(limit)
        )
        for d in rows:
            table.add_row(
                d.signal_id, d.account_id, d.type, d.action, f"{d.score:.2f}", d.reason[:120]
            )
    console.print(table)
    console.print(f"Triaged {len(decided)} new signal(s).")


@triage_app.command("eval")
def triage_eval(
    path: Annotated[Path, typer.Argument(help="Labelled signals (JSONL).")] = LABELLED,
    split: Annotated[str | None, typer.Option(help="Only the dev or holdout items.")] = None,
    mistakes: Annotated[bool, typer.Option(help="List every wrong classification.")] = False,
) -> None:
    """Precision and recall per type of the rules on a labelled set."""
    from evals.triage import evaluate, load_labelled

    rows = [r for r in load_labelled(path) if split is None or r.split == split]
    report = evaluate(rows)
    console.print(report.markdown(), highlight=False)
    if mistakes:
        for row, predicted in report.mistakes:
            console.print(
                f"{row.id}: {row.label} read as {predicted}: {row.title}", highlight=False
            )
