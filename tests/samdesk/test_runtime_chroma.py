"""SAMDESK_CHROMA_URL: the runtime's index lives on the chromadb server, not in the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.chunks import Chunk
from samdesk.errors import ConfigError
from samdesk.runtime import Runtime
from tests.chroma_server import ChromaServer
from tests.conftest import AS_OF, make_settings
from tests.retrieval.conftest import server_client, unique_collection


def test_a_chroma_url_puts_the_index_on_the_server(
    tmp_path: Path, chroma_server: ChromaServer
) -> None:
    settings = make_settings(
        tmp_path / "data", chroma_url=chroma_server.url, chroma_collection=unique_collection()
    )
    index = Runtime.open(settings).index
    chunk = Chunk(
        id="sig-acme-1",
        account_id="acme-financial",
        kind="signal",
        section="news",
        title="Hiring freeze",
        text="Acme announced a hiring freeze.",
        published_at=AS_OF,
    )

    index.upsert([chunk])

    stored = server_client(chroma_server).get_collection(index.collection_name)
    assert stored.get(ids=["sig-acme-1"])["ids"] == ["sig-acme-1"]
    assert not settings.chroma_dir.exists()
    assert [r.chunk.id for r in index.search("hiring freeze", account_id="acme-financial")] == [
        "sig-acme-1"
    ]
    server_client(chroma_server).delete_collection(index.collection_name)


def test_an_unusable_chroma_url_says_which_setting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", chroma_url="chroma.internal:8001")
    with pytest.raises(ConfigError, match="SAMDESK_CHROMA_URL"):
        _ = Runtime.open(settings).index
