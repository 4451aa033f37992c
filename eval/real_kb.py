"""A test knowledge base of real legislation, for the judged questions in eval/questions-real.tsv.

The product's own path: the shared legislation.gov.uk responses (../shared/reference/
legislation-gov-uk/responses, read in place) are laid out as a mirror (`host/path`) in a
temporary folder, with a manifest naming each item; `kb crawl --mirror` writes the corpus and
`kb build` indexes it. Nothing is copied into the project.

    python -m eval.real_kb --home /tmp/real-home
    kb eval eval/questions-real.tsv          # with KB_HOME=/tmp/real-home

Exit 3, saying why, when the shared responses are not there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESPONSES = PROJECT_ROOT.parent / "shared" / "reference" / "legislation-gov-uk" / "responses"
HOST = "www.legislation.gov.uk"
NOT_THERE = 3
MARKER = ".real-kb"  # what lets a later run replace the folder


@dataclass(frozen=True)
class RealItem:
    """One shared response crawled as a manifest entry: its file, path and version."""

    id: str
    file: str
    path: str
    version: str = "latest"

    def mirror_path(self) -> str:
        """Where `kb crawl` looks for it below the mirror's host folder."""
        middle = "" if self.version == "latest" else f"/{self.version}"
        return f"{self.path}{middle}/data.xml"

    def manifest_entry(self) -> dict:
        entry = {"id": self.id, "kind": "legislation", "path": self.path, "versions": "none"}
        if self.version != "latest":
            entry["version"] = self.version
        return entry


# Whole instruments (and a few single provisions, crawled as the whole of what they hold):
# Acts of the UK, Scottish, Welsh and Northern Ireland legislatures, SIs, regnal-year Acts.
ITEMS = (
    RealItem("union-with-scotland", "aep-Ann-6-11-1991-02-01.xml", "aep/Ann/6/11", "1991-02-01"),
    RealItem("election-act-1707", "aosp-1707-8-2007-01-01.xml", "aosp/1707/8", "2007-01-01"),
    RealItem("apgb-geo3", "apgb-Geo3-39-40-14.xml", "apgb/Geo3/39-40/14"),
    RealItem("senedd-2025-1", "asc-2025-1-2025-03-25.xml", "asc/2025/1", "2025-03-25"),
    RealItem("asp-2023-5", "asp-2023-5.xml", "asp/2023/5"),
    RealItem("asp-2025-11", "asp-2025-11-2025-08-07.xml", "asp/2025/11", "2025-08-07"),
    RealItem("nia-2022-21", "nia-2022-21-enacted.xml", "nia/2022/21", "enacted"),
    RealItem("ukla-2017-1", "ukla-2017-1-enacted.xml", "ukla/2017/1", "enacted"),
    RealItem("geo6-6-7-48", "ukpga-Geo6-6-7-48-1991-02-01.xml", "ukpga/Geo6/6-7/48", "1991-02-01"),
    RealItem("uksi-2010-2493", "uksi-2010-2493.xml", "uksi/2010/2493", "made"),
    RealItem("uksi-2015-1669", "uksi-2015-1669.xml", "uksi/2015/1669"),
    RealItem("mwa-2011-7", "mwa-2011-7-section-1.xml", "mwa/2011/7"),
    RealItem("ssi-2025-281", "ssi-2025-281-regulation-1-made.xml", "ssi/2025/281", "made"),
    RealItem("mnia-1974-4", "mnia-1974-4-section-5-2006-01-01.xml", "mnia/1974/4", "2006-01-01"),
)


class SharedMissing(LookupError):
    pass


def lay_out_mirror(mirror: Path, responses: Path = RESPONSES) -> Path:
    """Copy each item into `mirror/<host>/<path>` and write the manifest beside it."""
    if not responses.is_dir():
        raise SharedMissing(f"the shared legislation.gov.uk responses are not at {responses}")
    for item in ITEMS:
        target = mirror / HOST / item.mirror_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(responses / item.file, target)
    manifest = mirror.parent / "real-sources.yaml"
    entries = [item.manifest_entry() for item in ITEMS]
    manifest.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False), encoding="utf-8")
    return manifest


def _kb(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True, check=False
    )


def _clear(home: Path) -> None:
    """Empty a folder this script made before; refuse any other folder that holds something."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise RuntimeError(f"{home} holds files this script did not make: not replacing it")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("Made by python -m eval.real_kb; replaced by its next run.\n")


def build_real_kb(home: Path, responses: Path = RESPONSES) -> str:
    """Crawl the mirror into `home/corpus` and build `home/index`; the crawl and build output.

    Raises SharedMissing without the shared responses, RuntimeError if either command fails
    or `home` holds files of its own.
    """
    if not responses.is_dir():
        raise SharedMissing(f"the shared legislation.gov.uk responses are not at {responses}")
    _clear(home)
    manifest = lay_out_mirror(home / "mirror", responses)
    env = {
        **os.environ,
        "KB_HOME": str(home),
        "KB_CORPUS": str(home / "corpus"),
        "KB_CRAWL_DELAY": "0",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    crawl = _kb(["crawl", "--sources", str(manifest), "--mirror", str(home / "mirror")], env)
    if crawl.returncode != 0:
        raise RuntimeError(f"kb crawl failed:\n{crawl.stdout}{crawl.stderr}")
    built = _kb(["build", "--quiet"], env)
    if built.returncode != 0:
        raise RuntimeError(f"kb build failed:\n{built.stdout}{built.stderr}")
    return crawl.stdout + built.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.real_kb", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--home", type=Path, required=True, help="KB_HOME to build (replaced).")
    parser.add_argument("--responses", type=Path, default=RESPONSES, help="The shared responses.")
    args = parser.parse_args(argv)
    try:
        print(build_real_kb(args.home, args.responses), end="")
    except SharedMissing as exc:
        print(f"Skipped: {exc}.", file=sys.stderr)
        return NOT_THERE
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Real-legislation knowledge base ready: KB_HOME={args.home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
