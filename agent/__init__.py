"""Drafting: executive briefings and outreach emails, grounded in retrieved sources."""
