"""The vector index: searches never leave the account, and fresher signals win ties.

Every test here runs on the embedded store and on a chromadb server (tests/retrieval/conftest.py).
"""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Literal

import chromadb
import numpy as np
import pytest
from chromadb.api.types import PyEmbeddings
from chromadb.config import Settings as ChromaSettings

from retrieval.chunks import Chunk
from retrieval.embeddings import Embedder
from retrieval.index import Ranking, VectorIndex
from retrieval.plans import load_plan
from retrieval.schemas import AccountPlan
from samdesk.errors import ConfigError
from tests.chroma_server import ChromaServer
from tests.conftest import AS_OF, SAMPLES, make_settings
from tests.retrieval.conftest import OpenIndex, server_client, unique_collection


def sample_plans() -> list[AccountPlan]:
    plans = [load_plan(path)[0] for path in sorted((SAMPLES / "accounts").glob("*.md"))]
    assert all(plans)
    return [p for p in plans if p is not None]


PLANS = sample_plans()


@pytest.fixture(scope="module", params=["embedded", "server"])
def shared_index(
    request: pytest.FixtureRequest, sample_workspace: Path, embedder: Embedder
) -> Iterator[VectorIndex]:
    """The session's ingested samples, opened read-only by these tests; on the server, a
    copy of the same records (same vectors, no re-embedding)."""
    local = VectorIndex.persistent(make_settings(sample_workspace).chroma_dir, embedder)
    if request.param == "embedded":
        yield local
        return
    server: ChromaServer = request.getfixturevalue("chroma_server")
    remote = VectorIndex.http(server.url, embedder, collection=unique_collection())
    records = sample_collection(sample_workspace, local).get(
        include=["embeddings", "documents", "metadatas"]
    )
    server_client(server).get_collection(remote.collection_name).add(
        ids=records["ids"],
        embeddings=records["embeddings"],
        documents=records["documents"],
        metadatas=records["metadatas"],
    )
    yield remote
    server_client(server).delete_collection(remote.collection_name)


def sample_collection(workspace: Path, index: VectorIndex) -> chromadb.Collection:
    """The samples' chromadb collection itself, to compare the index with chromadb's answers."""
    client = chromadb.PersistentClient(
        path=str(make_settings(workspace).chroma_dir),
        settings=ChromaSettings(anonymized_telemetry=False),
    )
    return client.get_collection(index.collection_name, embedding_function=None)


def signal(
    id_: str,
    *,
    days_old: float,
    account: str = "acme-financial",
    title: str = "Hiring freeze",
    text: str = "Acme Financial Corp announced a company-wide hiring freeze.",
) -> Chunk:
    return Chunk(
        id=id_,
        account_id=account,
        kind="signal",
        section="budget_freeze",
        title=title,
        text=text,
        published_at=AS_OF - timedelta(days=days_old),
        url=f"https://news.example/{id_}",
    )


def plan_chunk(
    account: str = "acme-financial", text: str = "Risk: budget freeze in 2027."
) -> Chunk:
    return Chunk(
        id=f"{account}/risks",
        account_id=account,
        kind="plan",
        section="Risks",
        title=f"{account} account plan: Risks",
        text=text,
    )


@pytest.mark.parametrize("n", range(len(PLANS)), ids=[p.account_id for p in PLANS])
def test_search_never_leaves_the_account(shared_index: VectorIndex, n: int) -> None:
    plan, other = PLANS[n], PLANS[(n + 1) % len(PLANS)]  # ask about a neighbour's business
    query = f"{other.name} {other.industry}: {other.stakeholders[0].name}, renewal and risks"

    results = shared_index.search(query, account_id=plan.account_id, k=8, as_of=AS_OF)

    assert len(results) == 8
    assert {r.chunk.account_id for r in results} == {plan.account_id}


def test_query_naming_another_company_stays_in_scope(shared_index: VectorIndex) -> None:
    results = shared_index.search(
        "Brightline Energy grid modernization", account_id="acme-financial", k=10, as_of=AS_OF
    )

    assert results
    assert all(r.chunk.account_id == "acme-financial" for r in results)
    assert all(r.chunk.id.startswith(("acme-financial/", "sig-acme-")) for r in results)
    # ...while the same query scoped to Brightline does find Brightline.
    own = shared_index.search(
        "Brightline Energy grid modernization", account_id="brightline-energy", k=3, as_of=AS_OF
    )
    assert own and all(r.chunk.account_id == "brightline-energy" for r in own)


def test_unknown_account_finds_nothing(shared_index: VectorIndex) -> None:
    assert shared_index.search("Acme Financial", account_id="no-such-account", as_of=AS_OF) == []


@pytest.mark.parametrize("kind", ["signal", "plan"])
def test_kinds_filter(shared_index: VectorIndex, kind: Literal["signal", "plan"]) -> None:
    results = shared_index.search(
        "budget freeze and new CFO", account_id="acme-financial", k=20, as_of=AS_OF, kinds=(kind,)
    )

    assert len(results) >= 10  # acme has 12 plan chunks and 11 signals
    assert {r.chunk.kind for r in results} == {kind}
    assert {r.chunk.account_id for r in results} == {"acme-financial"}


def test_results_are_sorted_by_blended_score_and_cut_at_k(shared_index: VectorIndex) -> None:
    results = shared_index.search(
        "champion retirement", account_id="acme-financial", k=5, as_of=AS_OF
    )

    assert len(results) == 5
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        assert r.score == pytest.approx(Ranking().score(r.similarity, r.chunk.published_at, AS_OF))


def test_search_on_empty_index_returns_nothing(index: VectorIndex) -> None:
    assert index.count() == 0
    assert index.search("anything at all", account_id="acme-financial") == []


def test_similarity_is_cosine(index: VectorIndex, embedder: Embedder) -> None:
    chunk = signal("sig-acme-1", days_old=1)
    index.upsert([chunk])
    query = "Is Acme Financial freezing budgets?"

    [result] = index.search(query, account_id="acme-financial", as_of=AS_OF)

    q, d = embedder.embed([query, f"{chunk.title}\n{chunk.text}"])
    cosine = sum(a * b for a, b in zip(q, d, strict=True))
    assert result.similarity == pytest.approx(cosine, abs=1e-3)


def test_fresher_signal_ranks_first_for_identical_text(index: VectorIndex) -> None:
    index.upsert(
        [
            signal("sig-acme-old", days_old=300),
            signal("sig-acme-new", days_old=2),
            signal("sig-brightline-newest", days_old=0, account="brightline-energy"),
        ]
    )

    results = index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)

    assert [r.chunk.id for r in results] == ["sig-acme-new", "sig-acme-old"]
    new, old = results
    assert new.similarity == pytest.approx(old.similarity, abs=1e-5)
    assert new.score > old.score


def test_recency_does_not_swamp_relevance(index: VectorIndex) -> None:
    index.upsert(
        [
            signal("sig-acme-relevant", days_old=200),
            signal(
                "sig-acme-offtopic",
                days_old=0,
                title="Charity run",
                text="Acme Financial Corp sponsored a charity marathon in the city park.",
            ),
        ]
    )

    results = index.search(
        "Acme Financial Corp announced a company-wide hiring freeze.",
        account_id="acme-financial",
        as_of=AS_OF,
    )

    assert results[0].chunk.id == "sig-acme-relevant"


def test_plan_chunks_do_not_age(index: VectorIndex) -> None:
    index.upsert([plan_chunk(), signal("sig-acme-1", days_old=2)])

    now = index.search("budget freeze", account_id="acme-financial", as_of=AS_OF)
    later = index.search(
        "budget freeze", account_id="acme-financial", as_of=AS_OF + timedelta(days=3650)
    )

    plan_now = next(r for r in now if r.chunk.kind == "plan")
    plan_later = next(r for r in later if r.chunk.kind == "plan")
    assert plan_now.score == plan_now.similarity
    assert plan_later.score == pytest.approx(plan_now.score)
    sig_now = next(r for r in now if r.chunk.kind == "signal")
    sig_later = next(r for r in later if r.chunk.kind == "signal")
    assert sig_later.score < sig_now.score


def test_ranking_score() -> None:
    ranking = Ranking(recency_weight=0.3, half_life_days=30)

    assert ranking.score(0.8, None, AS_OF) == 0.8
    assert ranking.score(0.8, AS_OF, AS_OF) == pytest.approx(0.7 * 0.8 + 0.3)
    assert ranking.score(0.8, AS_OF - timedelta(days=30), AS_OF) == pytest.approx(0.56 + 0.15)
    # Published "after" as_of counts as brand new, never as a bonus above 1.
    assert ranking.score(0.8, AS_OF + timedelta(days=5), AS_OF) == pytest.approx(0.86)
    assert math.isclose(Ranking(recency_weight=0).score(0.4, AS_OF, AS_OF), 0.4)


def test_get_round_trips_chunks(index: VectorIndex) -> None:
    chunks = [signal("sig-acme-1", days_old=3), plan_chunk()]
    index.upsert(chunks)

    assert sorted(index.get([c.id for c in chunks]), key=lambda c: c.id) == sorted(
        chunks, key=lambda c: c.id
    )
    assert index.get(["missing"]) == []


def test_upsert_replaces_delete_removes_and_lookups(index: VectorIndex) -> None:
    first = signal("sig-acme-1", days_old=3)
    index.upsert([first, plan_chunk(), plan_chunk("brightline-energy")])
    edited = Chunk(**{**first.__dict__, "text": "Acme lifted its hiring freeze."})

    index.upsert([edited])

    assert index.count() == 3
    assert index.hashes(["sig-acme-1", "missing"]) == {"sig-acme-1": edited.content_hash}
    assert index.get(["sig-acme-1"])[0].text == "Acme lifted its hiring freeze."
    assert index.ids_for("acme-financial", "plan") == {"acme-financial/risks"}
    assert index.ids_for("acme-financial", "signal") == {"sig-acme-1"}
    index.delete(["acme-financial/risks"])
    assert index.count() == 2
    assert index.ids_for("acme-financial", "plan") == set()
    assert index.hashes([]) == {}


def test_ranking_scores_many_as_score_does_one() -> None:
    ranking = Ranking(recency_weight=0.3, half_life_days=30)
    published = [None, AS_OF, AS_OF - timedelta(days=45.5), AS_OF + timedelta(days=2)]
    similarities = [0.8, 0.4, 0.9, 0.1]
    timestamps = [p.timestamp() if p else math.nan for p in published]

    many = ranking.scores(np.array(similarities), np.array(timestamps), AS_OF)

    expected = [ranking.score(s, p, AS_OF) for s, p in zip(similarities, published, strict=True)]
    assert many.tolist() == pytest.approx(expected, abs=1e-12)


def test_exact_search_agrees_with_chromadbs_own_query(
    sample_workspace: Path, embedder: Embedder
) -> None:
    index = VectorIndex.persistent(make_settings(sample_workspace).chroma_dir, embedder)
    raw = sample_collection(sample_workspace, index)
    plain = Ranking(recency_weight=0.0)
    for plan in PLANS:
        vector = embedder.embed([f"{plan.name}: renewal, budget and risks"])[0]
        queries: PyEmbeddings = [vector]

        ours = index.search(
            "", account_id=plan.account_id, k=10, as_of=AS_OF, ranking=plain, query_vector=vector
        )
        theirs = raw.query(
            query_embeddings=queries,
            n_results=10,
            include=["distances"],
            where={"account_id": plan.account_id},
        )

        assert [r.chunk.id for r in ours] == theirs["ids"][0]
        assert [r.similarity for r in ours] == pytest.approx(
            [1 - d for d in (theirs["distances"] or [[]])[0]], abs=1e-5
        )


def test_own_writes_are_searchable_at_once(index: VectorIndex) -> None:
    index.revalidate_s = 3600.0  # no help from revalidation: the write itself must tell
    assert index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF) == []

    index.upsert([signal("sig-acme-1", days_old=1)])
    assert [
        r.chunk.id for r in index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)
    ] == ["sig-acme-1"]

    index.upsert([signal("sig-acme-1", days_old=1, text="Acme lifted its hiring freeze.")])
    [found] = index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)
    assert found.chunk.text == "Acme lifted its hiring freeze."

    index.delete(["sig-acme-1"])
    assert index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF) == []


def test_a_chunk_moved_to_another_account_leaves_the_first(index: VectorIndex) -> None:
    index.upsert([signal("sig-1", days_old=1), plan_chunk()])
    assert "sig-1" in {
        r.chunk.id for r in index.search("hiring freeze", account_id="acme-financial")
    }

    index.upsert([signal("sig-1", days_old=1, account="brightline-energy")])

    acme = index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)
    assert [r.chunk.id for r in acme] == ["acme-financial/risks"]
    brightline = index.search("hiring freeze", account_id="brightline-energy", as_of=AS_OF)
    assert [r.chunk.account_id for r in brightline] == ["brightline-energy"]


def test_another_process_writes_are_seen_after_revalidation(open_index: OpenIndex) -> None:
    reader, writer = open_index(), open_index()
    reader.revalidate_s = 3600.0
    assert reader.search("hiring freeze", account_id="acme-financial", as_of=AS_OF) == []

    writer.upsert([signal("sig-acme-1", days_old=1)])

    # Within the revalidation window the reader answers from memory, without asking...
    assert reader.search("hiring freeze", account_id="acme-financial", as_of=AS_OF) == []
    # ...and once it is over, the new generation stamped by the writer makes it re-read.
    reader.revalidate_s = 0.0
    [found] = reader.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)
    assert found.chunk.id == "sig-acme-1"
    writer.delete(["sig-acme-1"])
    assert reader.search("hiring freeze", account_id="acme-financial", as_of=AS_OF) == []


@pytest.mark.vcr
def test_chromadb_server_calls_are_not_cassette_traffic(
    index: VectorIndex, request: pytest.FixtureRequest
) -> None:
    """Cassettes are played back strictly (an unknown request fails), yet the index works."""
    index.upsert([signal("sig-acme-1", days_old=1)])

    assert index.search("hiring freeze", account_id="acme-financial", as_of=AS_OF)
    cassettes = Path(__file__).parent / "cassettes" / "test_index"
    assert not list(cassettes.glob(f"{request.node.name.split('[')[0]}*"))


def test_a_server_address_must_be_an_http_url(embedder: Embedder) -> None:
    with pytest.raises(ConfigError, match="http://host:port"):
        VectorIndex.http("127.0.0.1:8001", embedder)


def test_an_unreachable_server_is_a_config_error(embedder: Embedder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: nothing answers there
        with pytest.raises(ConfigError, match="chroma run"):
            VectorIndex.http(f"http://127.0.0.1:{port}", embedder)
