"""Searching by a stored vector: what outreach drafting does instead of re-embedding its trigger."""

from __future__ import annotations

from retrieval.index import VectorIndex
from tests.conftest import AS_OF

SIGNAL = "sig-acme-009"


def test_a_stored_vector_finds_what_its_text_finds(sample_index: VectorIndex) -> None:
    chunk = sample_index.get([SIGNAL])[0]
    vector = sample_index.vectors([SIGNAL])[SIGNAL]
    query = f"{chunk.title}\n{chunk.text}"

    by_text = sample_index.search(query, account_id="acme-financial", k=8, as_of=AS_OF)
    by_vector = sample_index.search(
        "ignored when a vector is given",
        account_id="acme-financial",
        k=8,
        as_of=AS_OF,
        query_vector=vector,
    )

    assert [r.chunk.id for r in by_vector] == [r.chunk.id for r in by_text]
    assert by_vector[0].chunk.id == SIGNAL and by_vector[0].similarity > 0.99


def test_vectors_of_unknown_ids_are_absent(sample_index: VectorIndex) -> None:
    assert sample_index.vectors(["no-such-chunk"]) == {}
    assert sample_index.vectors([]) == {}
    assert len(sample_index.vectors([SIGNAL])[SIGNAL]) == 384


def test_memory_is_bounded_and_an_evicted_account_is_read_again(
    sample_index: VectorIndex,
) -> None:
    def top(account_id: str) -> list[str]:
        found = sample_index.search("new CFO", account_id=account_id, k=5, as_of=AS_OF)
        return [r.chunk.id for r in found]

    acme = top("acme-financial")
    acme_n = sample_index.held_chunks
    bluewater = top("bluewater-logistics")
    bluewater_n = sample_index.held_chunks - acme_n
    assert acme_n > 0 and bluewater_n > 0

    sample_index.max_held_chunks = max(acme_n, bluewater_n)  # room for one account
    assert top("acme-financial") == acme
    assert sample_index.held_chunks == acme_n  # bluewater, least recently used, forgotten
    assert top("bluewater-logistics") == bluewater  # read from the store again
    assert sample_index.held_chunks == bluewater_n
    assert top("acme-financial") == acme
