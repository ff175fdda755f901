"""The loopback feed server fixture for this folder's tests."""

from tests.feed_server import feed_server  # noqa: F401  (a fixture)
