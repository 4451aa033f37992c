"""The core: documents, passages, pins, citations, vocabularies, config (docs/architecture.md)."""
