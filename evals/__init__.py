"""Offline evaluation of prompt versions: cases with frozen sources, evaluators, a cached
runner and paired reports (``samdesk eval``). Grounding builds on ``agent.grounding``."""
