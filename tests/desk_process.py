"""``samdesk serve`` as a real subprocess on a free loopback port, for multi-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.smtp_server import free_port


@dataclass
class DeskProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    workers: int = 1

    def wait_until_up(self, timeout_s: float = 60.0) -> None:
        """Until /healthz answers and every worker has started.

        The first worker to finish importing answers /healthz alone; on a slow machine the
        others are still importing, and a race test would then exercise a single process.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the desk exited: {self.log.read_text()[-3000:]}")
            try:
                answered = httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
            except httpx.TransportError:
                answered = False
            if answered and self.started_workers() >= self.workers:
                return
            time.sleep(0.2)
        raise AssertionError(f"the desk did not start: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def started_workers(self) -> int:
        return self.log.read_text().count("Application startup complete")


def start_desk(
    data_dir: Path,
    log: Path,
    *args: str,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> DeskProcess:
    """``samdesk serve *args`` over ``data_dir`` (and ``env``, e.g. SAMDESK_DATABASE_URL)."""
    from tests.pg import database_env

    port = free_port()
    full_env = {
        **os.environ,
        "SAMDESK_DATA_DIR": str(data_dir),
        "SAMDESK_ENV": "test",
        "SAMDESK_LOG_LEVEL": "INFO",
        **(env if env is not None else database_env(data_dir)),
    }
    command = [str(Path(sys.executable).parent / "samdesk"), "serve", "--port", str(port), *args]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    desk = DeskProcess(f"http://127.0.0.1:{port}", process, log, workers)
    try:
        desk.wait_until_up()
    except BaseException:
        desk.stop()
        raise
    return desk
