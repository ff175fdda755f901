"""samdesk: grounded briefings and outreach drafts for Strategic Account Managers."""

__version__ = "0.1.0"
