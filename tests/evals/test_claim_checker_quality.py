"""The claim checker's own quality on labelled claims; README publishes these figures."""

from __future__ import annotations

from evals.grounding.quality import HOLDOUT, measure
from tests.conftest import SAMPLES


def test_unsupported_claims_are_found_with_high_precision_and_recall() -> None:
    quality = measure(SAMPLES)
    summary = quality.summary()
    assert summary["claims"] >= 60 and summary["unsupported_labelled"] >= 30
    assert quality.precision >= 0.95
    assert quality.recall >= 0.85
    # What it cannot see: wrong relations with no wrong name, number or date.
    assert "Acme has cancelled the Trading Desk modernization." in quality.misses


def test_held_out_claims_it_was_not_tuned_on() -> None:
    quality = measure(SAMPLES, HOLDOUT)
    assert quality.summary()["claims"] >= 35
    assert quality.precision >= 0.9
    assert quality.recall >= 0.8
