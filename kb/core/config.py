"""Settings, read from environment variables (all documented in the README)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
USER_AGENT = "statutory-kb/0.1 (UK local government statutory guidance knowledge base)"


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


_ORIGIN = re.compile(r"^https?://[^/\s?#]+$", re.IGNORECASE)


def _origins(value: str | None) -> list[str]:
    """KB_CORS_ORIGINS as origins ('https://intranet.example'); anything else is refused, since
    a browser sends the scheme and an origin written without it would never match."""
    origins = [item.rstrip("/") for item in _list(value)]
    for origin in origins:
        if not _ORIGIN.match(origin):
            parts = urlsplit(origin if "://" in origin else f"http://{origin}")
            example = (
                f"{parts.scheme}://{parts.netloc}" if parts.netloc else "https://intranet.example"
            )
            raise ValueError(
                f"KB_CORS_ORIGINS: {origin!r} is not an origin; write scheme, host and port "
                f"only, e.g. {example}"
            )
    return origins


def _default_home() -> Path:
    """One place whatever the working directory: beside the bundled corpus in a checkout,
    else the user's data directory (XDG_DATA_HOME, else ~/.local/share)."""
    if (PROJECT_ROOT / "corpus").is_dir():
        return PROJECT_ROOT / ".kb"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "statutory-kb"


def _positive(env, name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number above 0, not {value!r}")
    return int(value)


def _count(env, name: str, default: int) -> int:
    """A whole number, 0 or more (0 turns the thing off)."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")
    return int(value)


def _sources(env) -> Path | None:
    value = (env.get("KB_SOURCES") or "").strip()
    return Path(value).expanduser() if value else None


DEFAULT_QUERY_CACHE = 512


# Settings() reads these two from the process environment too, unlike the others: tests (and
# the benchmarks) set them process-wide, and some build their Settings() rather than from_env.
def _env_sources() -> Path | None:
    return _sources(os.environ)


def _env_query_cache() -> int:
    return _count(os.environ, "KB_QUERY_CACHE", DEFAULT_QUERY_CACHE)


EMBEDDINGS = ("auto", "off")
SEARCH_MODES = ("keyword", "hybrid")


def _choice(env, name: str, allowed: tuple[str, ...]) -> str:
    """One of allowed (the first when unset); anything else is refused, naming them."""
    value = (env.get(name) or "").strip().lower() or allowed[0]
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


# Like KB_QUERY_CACHE, read from the process environment by Settings() too, so that a test run
# with the semantic extra installed can leave the (slow) embedding out: KB_EMBEDDINGS=off.
def _env_embeddings() -> str:
    return _choice(os.environ, "KB_EMBEDDINGS", EMBEDDINGS)


def _metrics_dir(env) -> Path | None:
    value = env.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


# PROMETHEUS_MULTIPROC_DIR is prometheus_client's own variable: when first imported it reads the
# process environment to decide where every metric keeps its value. So Settings() reads it from
# there too, however it is built, and /metrics adds up what the library writes.
def _env_metrics_dir() -> Path | None:
    return _metrics_dir(os.environ)


def _default_corpus() -> Path:
    bundled = PROJECT_ROOT / "corpus"
    return bundled if bundled.is_dir() else Path.cwd() / "corpus"


@dataclass
class Settings:
    home: Path = field(default_factory=_default_home)
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
    engine: str = "auto"  # auto: indexer.index.build.chosen_engine picks by corpus size
    # The sources manifest `kb crawl` and `kb update` read: a file or folder (KB_SOURCES);
    # None: <corpus>/sources/
    sources: Path | None = field(default_factory=_env_sources)
    # Search responses kept per index version for repeated requests; 0: none (KB_QUERY_CACHE)
    query_cache: int = field(default_factory=_env_query_cache)
    cors_origins: list[str] = field(default_factory=list)
    embed_ancestors: list[str] = field(default_factory=list)
    # The directory several `kb serve` processes share their metrics in
    # (PROMETHEUS_MULTIPROC_DIR); None: each process counts for itself
    metrics_dir: Path | None = field(default_factory=_env_metrics_dir)
    # The bearer token /mcp of `kb serve` requires (KB_MCP_TOKEN); None: /mcp is open, as the
    # API is. `kb mcp` (stdio) needs none: it is the assistant's own subprocess.
    mcp_token: str | None = None
    # `kb build` embeds every passage when the semantic extra is installed (auto), or never
    # (off) (KB_EMBEDDINGS)
    embeddings: str = field(default_factory=_env_embeddings)
    # A search's mode when the request names none: keyword, or hybrid (keyword and dense
    # lists fused; falls back to keyword where hybrid is unavailable) (KB_SEARCH_MODE)
    search_mode: str = "keyword"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @classmethod
    def given(cls, obj: object) -> Settings:
        """The settings a command was handed in click's ctx.obj: the `kb` group's state's
        (kb.cli.CliState), a Settings itself, or {"settings": …}; else read from the
        environment now, since a command run on its own is its own entry point."""
        if isinstance(obj, Settings):
            return obj
        found = obj.get("settings") if isinstance(obj, dict) else getattr(obj, "settings", None)
        return found if isinstance(found, Settings) else cls.from_env()

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
        settings.engine = env.get("KB_ENGINE", settings.engine).strip().lower() or "auto"
        settings.sources = _sources(env)
        settings.query_cache = _count(env, "KB_QUERY_CACHE", DEFAULT_QUERY_CACHE)
        settings.cors_origins = _origins(env.get("KB_CORS_ORIGINS"))
        settings.embed_ancestors = _list(env.get("KB_EMBED_ANCESTORS"))
        settings.metrics_dir = _metrics_dir(env)
        settings.mcp_token = (env.get("KB_MCP_TOKEN") or "").strip() or None
        settings.embeddings = _choice(env, "KB_EMBEDDINGS", EMBEDDINGS)
        settings.search_mode = _choice(env, "KB_SEARCH_MODE", SEARCH_MODES)
        return settings
