"""Prometheus metrics and structured request logs (filled in by the serving work)."""


def install(app) -> None:
    """Register /metrics and request logging on the app."""
