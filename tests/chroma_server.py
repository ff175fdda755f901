"""A real chromadb server (``chroma run``, shipped with the chromadb package) on a free
loopback port: one per test session, started only when a test asks for it, stopped at the end.

Its port goes into ``CHROMA_PORTS``, which the cassette settings (tests/cassettes.py) read so
that vcr neither records nor blocks calls to it; the LLM cassettes stay as they are.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMA_PORTS: set[int] = set()
# Linux: the server gets SIGTERM when the test run dies (killed, timed out), so it is never
# left behind; set in the child, which then becomes the server (the setting survives exec).
DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@dataclass
class ChromaServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        CHROMA_PORTS.discard(self.port)


def chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"  # the venv's, same chromadb version
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if found is None:
        pytest.fail("the `chroma` command (part of the chromadb package) is not installed")
    return found


def start_chroma_server(directory: Path, timeout_s: float = 90.0) -> ChromaServer:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    log = directory / "chroma-server.log"
    command = [
        chroma_executable(),
        "run",
        "--path",
        str(directory / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if sys.platform.startswith("linux"):
        command = [sys.executable, "-c", DIE_WITH_PARENT, *command]
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = ChromaServer(f"http://127.0.0.1:{port}", port, process, log)
    CHROMA_PORTS.add(port)
    try:
        _wait_until_up(server, timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_up(server: ChromaServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"chroma run exited with {server.process.returncode}: "
                f"{server.log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(f"{server.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(
        f"chroma run did not answer within {timeout_s:.0f} s: {server.log.read_text()[-2000:]}"
    )


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = start_chroma_server(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server
    finally:
        server.stop()
