"""Cassette settings for every test marked ``vcr``: match on the body (every chat call is the
same POST to the same URL), and strip secrets and noise from what is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chroma_server import CHROMA_PORTS

SECRET_HEADERS = ["authorization", "api-key", "x-api-key", "openai-organization", "cookie"]
KEEP_RESPONSE_HEADERS = {"content-type"}


def _strip_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        k: v for k, v in response["headers"].items() if k.lower() in KEEP_RESPONSE_HEADERS
    }
    return response


def _skip_chroma(request: Any) -> Any:
    """Calls to the test chromadb server are neither recorded nor played back (nor blocked)."""
    if request.host == "127.0.0.1" and request.port in CHROMA_PORTS:
        return None
    return request


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
        "filter_headers": SECRET_HEADERS,
        "before_record_request": _skip_chroma,
        "before_record_response": _strip_response,
        "decode_compressed_response": True,
    }
