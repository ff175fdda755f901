"""Offline evaluation of prompt versions (see the evals issue); the grounding checks it will
score with already live in ``agent.grounding``."""
