"""The approval desk: nothing leaves samdesk without a SAM approving the exact text."""
