"""Settings, read from environment variables (all documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "statutory-kb/0.1 (UK local government statutory guidance knowledge base)"


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _positive(env, name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number above 0, not {value!r}")
    return int(value)


def _default_corpus() -> Path:
    bundled = PROJECT_ROOT / "corpus"
    return bundled if bundled.is_dir() else Path.cwd() / "corpus"


@dataclass
class Settings:
    home: Path = field(default_factory=lambda: Path(".kb"))
    corpus: Path = field(default_factory=_default_corpus)
    legislation_url: str = "https://www.legislation.gov.uk"
    govuk_url: str = "https://www.gov.uk"
    archive_url: str = "https://webarchive.nationalarchives.gov.uk"
    crawl_delay: float = 1.0
    # Total seconds one crawler request may take, connecting to last body byte (KB_CRAWL_DEADLINE)
    crawl_deadline: float = 300.0
    # `kb update`: a span of days longer than this asks the item's undated Publication Log
    # instead of one feed per day (KB_UPDATE_MAX_DAYS)
    update_max_days: int = 31
    # `kb update`: HTTP requests per run (KB_UPDATE_MAX_REQUESTS); legislation.gov.uk allows
    # 3,000 per 5 minutes per IP address (docs: fair-use.md)
    update_max_requests: int = 2000
    engine: str = "whoosh"
    cors_origins: list[str] = field(default_factory=list)
    embed_ancestors: list[str] = field(default_factory=list)

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls()
        if env.get("KB_HOME"):
            settings.home = Path(env["KB_HOME"]).expanduser()
        if env.get("KB_CORPUS"):
            settings.corpus = Path(env["KB_CORPUS"]).expanduser()
        settings.legislation_url = env.get("KB_LEGISLATION_URL", settings.legislation_url)
        settings.govuk_url = env.get("KB_GOVUK_URL", settings.govuk_url)
        settings.archive_url = env.get("KB_ARCHIVE_URL", settings.archive_url)
        if env.get("KB_CRAWL_DELAY"):
            settings.crawl_delay = float(env["KB_CRAWL_DELAY"])
        if env.get("KB_CRAWL_DEADLINE"):
            settings.crawl_deadline = float(env["KB_CRAWL_DEADLINE"])
            if not settings.crawl_deadline > 0:
                raise ValueError("KB_CRAWL_DEADLINE must be a number of seconds above 0")
        settings.update_max_days = _positive(env, "KB_UPDATE_MAX_DAYS", settings.update_max_days)
        settings.update_max_requests = _positive(
            env, "KB_UPDATE_MAX_REQUESTS", settings.update_max_requests
        )
        settings.engine = env.get("KB_ENGINE", settings.engine).strip().lower() or "whoosh"
        settings.cors_origins = _list(env.get("KB_CORS_ORIGINS"))
        settings.embed_ancestors = _list(env.get("KB_EMBED_ANCESTORS"))
        return settings
