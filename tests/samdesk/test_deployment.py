"""The README's "Deployment (team)" block, run as written, end to end.

The block between ``<!-- deploy:begin -->`` and ``<!-- deploy:end -->`` runs under bash
with ``set -euo pipefail``; only the example values change: each ``$VAR`` it reads gets a
free loopback port, a temporary path, or the test's database (PostgreSQL on the
SAMDESK_TEST_POSTGRES_URL run, else a SQLite file). It must bring up the Chroma server, two
desk workers and the sender; a draft approved through the desk's API must then arrive at a
real SMTP server (aiosmtpd). Slow (~1-2 min: three processes import the whole desk).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
import httpx
import pytest
from aiosmtpd.controller import Controller

from samdesk.db import make_engine, session_factory
from tests.approval_ui.conftest import owned_draft
from tests.conftest import REPO
from tests.factories import one_account_inputs
from tests.pg import databases
from tests.smtp_server import RecordingHandler, free_port

BEGIN, END = "<!-- deploy:begin -->", "<!-- deploy:end -->"
ADMIN = "desk-admin@northwind.example"
CUSTOMER = "robert.ainsley@acmefinancial.example"


def deploy_block() -> str:
    readme = (REPO / "README.md").read_text()
    assert BEGIN in readme and END in readme, "README.md lost its deploy:begin/end markers"
    inside = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    fenced = re.search(r"```sh\n(.*?)```", inside, re.DOTALL)
    assert fenced, "the deployment block is not a ```sh fenced block"
    return fenced.group(1)


@pytest.fixture
def smtp() -> Iterator[tuple[int, RecordingHandler]]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def wait_for(check: object, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the block exited ({process.returncode}): {log.read_text()}")
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} never happened: {log.read_text()[-4000:]}")


def test_the_readme_deployment_block_serves_approves_and_sends(
    tmp_path: Path, smtp: tuple[int, RecordingHandler]
) -> None:
    smtp_port, received = smtp
    data_dir = tmp_path / "data"
    found = databases()
    url = found.for_dir(data_dir) if found else f"sqlite:///{data_dir / 'samdesk.db'}"
    desk_port, chroma_port = free_port(), free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMDESK_")}
    env.pop("OPENAI_API_KEY", None)
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",
        SAMDESK_DATABASE_URL=url,
        SAMDESK_DATA_DIR=str(data_dir),
        SAMDESK_CHROMA_URL=f"http://127.0.0.1:{chroma_port}",
        SAMDESK_SMTP_HOST="127.0.0.1",
        SAMDESK_SMTP_PORT=str(smtp_port),
        SAMDESK_SMTP_STARTTLS="false",
        SAMDESK_HOST="127.0.0.1",
        SAMDESK_PORT=str(desk_port),
        SAMDESK_PLANS=str(one_account_inputs(tmp_path / "plans")),
        SAMDESK_ADMIN_EMAIL=ADMIN,
        SAMDESK_ADMIN_PASSWORD="a long admin password",
        SAMDESK_WORKERS="2",
        SAMDESK_SENDER_INTERVAL_S="0.5",
    )
    log = tmp_path / "deploy.log"
    with log.open("wb") as out:
        block = subprocess.Popen(
            ["bash", "-c", "set -euo pipefail\n" + deploy_block()],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its background servers die with the group below
        )
    desk = f"http://127.0.0.1:{desk_port}"
    try:
        wait_for(
            lambda: httpx.get(f"{desk}/healthz", timeout=2).status_code == 200,
            "the desk answering",
            block,
            log,
        )
        issued = subprocess.run(
            [f"{venv_bin}/samdesk", "users", "token", "create", ADMIN, "--name", "deploy test"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        token = issued.stdout.strip().splitlines()[-1]
        engine = make_engine(url)
        draft_id = owned_draft(session_factory(engine), owner=ADMIN)
        engine.dispose()
        approved = httpx.post(
            f"{desk}/api/drafts/{draft_id}/approve",
            json={},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert approved.status_code == 200, approved.text
        wait_for(lambda: received.envelopes, "the sender delivering", block, log)
        assert received.envelopes[0].rcpt_tos == [CUSTOMER]
        assert received.envelopes[0].mail_from == "account-team@example.com"
        # The ingested plan and signals went to the Chroma server, not to a local store.
        client = chromadb.HttpClient(host="127.0.0.1", port=chroma_port)
        stored = {c.name: c.count() for c in client.list_collections()}
        assert [n for n, count in stored.items() if n.startswith("samdesk") and count], stored
    finally:
        os.killpg(block.pid, signal.SIGTERM)
        try:
            block.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(block.pid, signal.SIGKILL)
            block.wait(timeout=30)
    assert "Traceback" not in log.read_text()
