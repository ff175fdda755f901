"""Fixtures for this folder's tests: the misbehaving model server, the Acme sample plan."""

import pytest

from retrieval.plans import load_plan
from retrieval.schemas import AccountPlan
from tests.conftest import SAMPLES
from tests.fault_llm_server import fault_llm  # noqa: F401  (a fixture)


@pytest.fixture
def acme() -> AccountPlan:
    plan, errors = load_plan(SAMPLES / "accounts" / "acme-financial.md")
    assert plan is not None and not errors
    return plan
