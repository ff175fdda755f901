"""The approval desk: nothing leaves samdesk without a SAM approving the exact text."""

from approval_ui import ranking as _ranking  # noqa: F401  (keeps drafts' rank columns on write)
