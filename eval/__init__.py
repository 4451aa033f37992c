"""Judged query sets for `kb eval`, and the real-legislation test knowledge base they need."""
