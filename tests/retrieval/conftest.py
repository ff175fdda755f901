"""Retrieval tests run on both stores: the embedded one and a chromadb server (``chroma run``).

Only here is ``index`` doubled; elsewhere it stays the embedded store of tests/conftest.py.
On the server every test gets a collection of its own, dropped when the test ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex
from tests.chroma_server import ChromaServer

OpenIndex = Callable[[], VectorIndex]


def server_client(server: ChromaServer) -> chromadb.api.ClientAPI:
    return chromadb.HttpClient(
        host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )


def unique_collection() -> str:
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["embedded", "server"])
def open_index(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
) -> Iterator[OpenIndex]:
    """Opens an index on this test's store; each call is a new ``VectorIndex`` on the same
    collection, as a second process would open it."""
    if request.param == "embedded":
        yield lambda: VectorIndex.persistent(tmp_path / "chroma", embedder)
        return
    server: ChromaServer = request.getfixturevalue("chroma_server")
    name = unique_collection()
    opened: list[VectorIndex] = []

    def on_server() -> VectorIndex:
        opened.append(VectorIndex.http(server.url, embedder, collection=name))
        return opened[-1]

    yield on_server
    if opened:
        server_client(server).delete_collection(opened[0].collection_name)


@pytest.fixture
def index(open_index: OpenIndex) -> VectorIndex:
    return open_index()
