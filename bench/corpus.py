"""Legislation-shaped synthetic passages: invented text, deterministic for a seed.

Documents are Acts, SIs and guidance with Parts, numbered sections and subsections. Body words
are drawn from a local-government vocabulary with a Zipfian distribution (rank r has weight
1 / r**1.1), so a few words ("authority", "must") are in most passages and most words are rare,
as in real statute text. A few fixed phrases are planted so phrase queries have something to find.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.core.models import CURRENT_STATUSES, Passage

SEED = 20310401
ZIPF_S = 1.1

# Ordered roughly from common to rare: the order is the Zipf rank.
VOCABULARY = """
the authority must may of to and in a for any or such by as be with under that this person
local council service section duty provision relevant secretary state regulations paragraph
subsection purpose functions contract consult authorities shall body make made before where
which provide provided best value involve representatives arrangements economy efficiency
effectiveness have regard guidance issued performance improvement continuous staff terms
conditions transfer undertaking employment contractor procurement commissioning tender
outsourcing review decision record publish notice period days written report plan annual
members committee executive cabinet scrutiny officer chief finance monitoring resident user
community voluntary sector partner partnership joint district county borough metropolitan
unitary parish combined fire rescue police education social care housing highways waste
planning licensing trading standards environmental health library leisure transport pension
fund employer employee trade union recognised collective agreement consultation information
inform measures affected transferee transferor dismissal redundancy protection favourable
joiners workforce code practice withdrawn superseded repealed commencement order amendment
schedule extent application interpretation meaning expression enactment instrument statutory
power direction intervention inspection audit accounts budget precept levy charge fee grant
loan capital revenue expenditure income asset disposal land acquisition lease licence
easement compulsory appeal tribunal court judicial proceedings offence penalty fine summary
conviction liability indemnity insurance risk assessment equality diversity impact
socio-economic wellbeing sustainable climate carbon net zero digital data protection privacy
transparency freedom publication scheme complaints ombudsman standards conduct interests
register gifts hospitality declaration election poll ballot vote referendum governance
constitution delegation scheme standing orders procedure rules financial regulations
exemption waiver threshold estimate quotation framework lot award evaluation criteria
weighting price quality social-value mobilisation exit handover step-in default termination
variation extension renewal novation subcontract supply chain assurance monitoring
indicator benchmark target outcome output specification tenderer bidder clarification
standstill challenge remedy ineffectiveness declaration light-touch concession utilities
defence security innovation partnership dynamic purchasing system catalogue marketplace
""".split()

PHRASES = (
    "duty to consult",
    "best value",
    "have regard to",
    "terms and conditions",
    "transfer of undertakings",
    "continuous improvement",
    "economy, efficiency and effectiveness",
    "representatives of local persons",
)

ACT_NOUNS = ("Services", "Commissioning", "Workforce", "Procurement", "Governance", "Finance")
ACT_ADJ = ("Local", "Public", "Community", "Municipal", "Regional", "Civic")
DOC_TYPES = (
    ("act", 0.35),
    ("si", 0.3),
    ("statutory_guidance", 0.15),
    ("guidance", 0.1),
    ("code_of_practice", 0.05),
    ("local_policy", 0.05),
)
STATUSES = (
    ("in_force", 0.7),
    ("partially_in_force", 0.08),
    ("prospective", 0.04),
    ("repealed", 0.08),
    ("withdrawn", 0.06),
    ("superseded", 0.04),
)


@dataclass
class SyntheticDocument:
    id: str
    title: str
    short_title: str
    doc_type: str
    status: str
    year: int
    passage_count: int = 0

    def summary(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "short_title": self.short_title,
            "doc_type": self.doc_type,
            "status": self.status,
            "passage_count": self.passage_count,
            "sample": True,
        }


class Generator:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        weights = [1 / (rank**ZIPF_S) for rank in range(1, len(VOCABULARY) + 1)]
        self.cum = list(itertools.accumulate(weights))

    def words(self, n: int) -> list[str]:
        return self.rng.choices(VOCABULARY, cum_weights=self.cum, k=n)

    def pick(self, table) -> str:
        values, weights = zip(*table, strict=True)
        return self.rng.choices(values, weights=weights)[0]

    def sentence(self) -> str:
        words = self.words(self.rng.randint(8, 30))
        if self.rng.random() < 0.25:
            at = self.rng.randrange(len(words))
            words[at:at] = self.rng.choice(PHRASES).split()
        return " ".join(words).capitalize() + "."

    def document(self, number: int) -> SyntheticDocument:
        doc_type = self.pick(DOC_TYPES)
        year = self.rng.randint(1972, 2033)
        name = f"{self.rng.choice(ACT_ADJ)} {self.rng.choice(ACT_NOUNS)}"
        if doc_type == "act":
            return SyntheticDocument(
                f"ukpga/{year}/{number}",
                f"{name} Act {year}",
                f"{''.join(w[0] for w in name.split())}A {year}",
                doc_type,
                self.pick(STATUSES),
                year,
            )
        if doc_type == "si":
            title = f"{name} (England) Regulations {year}"
            return SyntheticDocument(
                f"uksi/{year}/{number}",
                title,
                f"{name} Regs {year}",
                doc_type,
                self.pick(STATUSES),
                year,
            )
        title = f"{name} {doc_type.replace('_', ' ').title()} {year}"
        return SyntheticDocument(
            f"guidance/bench-{number}", title, title, doc_type, self.pick(STATUSES), year
        )

    def passages(self, doc: SyntheticDocument, count: int) -> Iterator[Passage]:
        legislation = doc.doc_type in ("act", "si")
        unit, short = ("section", "s") if doc.doc_type == "act" else ("regulation", "reg")
        order = 0
        part = 0
        section = 0
        while order < count:
            if section % 6 == 0:
                part += 1
            section += 1
            part_title = " ".join(self.words(3)).title()
            section_title = " ".join(self.words(self.rng.randint(2, 6))).capitalize()
            for sub in range(1, self.rng.randint(2, 7)):
                if order >= count:
                    break
                order += 1
                text = " ".join(self.sentence() for _ in range(self.rng.randint(1, 4)))
                if legislation:
                    pin, label = f"{unit}/{section}/{sub}", f"{short} {section}({sub})"
                    text = f"({sub}) {text}"
                    heading = f"Part {part} {part_title} › {short} {section} {section_title}"
                else:
                    pin, label = f"para/{section}.{sub}", f"para {section}.{sub}"
                    text = f"{section}.{sub} {text}"
                    heading = f"{section}. {section_title}"
                status = doc.status
                yield Passage(
                    id=f"{doc.id}/{pin}",
                    document_id=doc.id,
                    pin=pin,
                    anchor=pin.replace("/", "-"),
                    label=label,
                    title=doc.title,
                    heading=heading,
                    citation=f"{doc.title}, {label}",
                    short_citation=f"{doc.short_title} {label}",
                    source_url=None,
                    status=status,
                    status_date=f"{doc.year}-04-01",
                    doc_type=doc.doc_type,
                    text=text,
                    order=order,
                    valid_from=f"{doc.year}-04-01",
                    sample=True,
                    aliases=[doc.short_title],
                )


def generate(total: int, seed: int = SEED) -> tuple[list[SyntheticDocument], Iterator[Passage]]:
    """Documents of 20-200 passages until `total` passages; documents are filled as consumed."""
    gen = Generator(seed)
    documents: list[SyntheticDocument] = []

    def stream() -> Iterator[Passage]:
        made = 0
        number = 0
        while made < total:
            number += 1
            doc = gen.document(number)
            doc.passage_count = min(gen.rng.randint(20, 200), total - made)
            documents.append(doc)
            yield from gen.passages(doc, doc.passage_count)
            made += doc.passage_count

    return documents, stream()


def write_jsonl(path: Path, total: int, seed: int = SEED) -> None:
    """Passages one JSON object a line, then documents.json beside them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    documents, passages = generate(total, seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for passage in passages:
            fh.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
    docs_path = documents_path(path)
    docs_path.write_text(json.dumps([d.summary() for d in documents]), encoding="utf-8")
    tmp.replace(path)


def documents_path(passages_path: Path) -> Path:
    return passages_path.with_name(passages_path.stem + ".documents.json")


def read_jsonl(path: Path) -> Iterator[Passage]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            fields = json.loads(line)
            fields.pop("url", None)  # data generated before passages stopped carrying one
            yield Passage(**fields)


def is_current(status: str) -> bool:
    return status in CURRENT_STATUSES


def write_markdown_corpus(folder: Path, total: int, seed: int = SEED, per_doc: int = 100) -> int:
    """A corpus folder of guidance documents (numbered headings and paragraphs) for `kb build`.

    Used where the real build path matters (kill and switch tests, the load test's rebuild).
    Returns the number of paragraphs written, which `kb build` turns into as many passages.
    """
    gen = Generator(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    number = 0
    while written < total:
        number += 1
        count = min(per_doc, total - written)
        lines = [
            "---",
            f"id: guidance/bench-{seed}-{number}",
            f"title: Bench Guidance {number} (invented)",
            "doc_type: guidance",
            "status: in_force",
            "sample: true",
            "---",
            "",
        ]
        section = 0
        made = 0
        while made < count:
            section += 1
            lines += [f"# {section}. {' '.join(gen.words(3)).capitalize()}", ""]
            for para in range(1, min(8, count - made) + 1):
                lines += [f"{section}.{para} {gen.sentence()} {gen.sentence()}", ""]
                made += 1
        (folder / f"bench-{number:05d}.md").write_text("\n".join(lines), encoding="utf-8")
        written += count
    return written
