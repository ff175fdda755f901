"""The misbehaving model server fixture for this folder's tests."""

from tests.fault_llm_server import fault_llm  # noqa: F401  (a fixture)
