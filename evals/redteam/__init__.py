"""Red-team suite: hostile signals through ingest, retrieval, drafting and the desk's renderer.

Counts how many hostile signals were marked at ingest, how many reached a draft, and how
many drafts the output checks caught, with a model that obeys every injection fully.
"""
