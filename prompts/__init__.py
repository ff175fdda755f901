"""Versioned Jinja2 prompt templates (data, not code): ``<kind>/<version>.j2``."""
