"""The fixed query mix every engine answers: the same text and filters, in the same order.

Every request asks for the top 10 with a total, facet counts (document, type, status) over all
matches and highlighted snippets, because that is what /api/v1/search always returns. Queries use
only syntax that Whoosh, SQLite FTS5 and tantivy read alike (words, "phrases", AND/OR/NOT,
brackets, a trailing *), so each engine answers the same question.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    q: str
    doc_type: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    document: tuple[str, ...] = field(default=())

    def params(self) -> dict[str, object]:
        return {
            "q": self.q,
            "doc_type": list(self.doc_type),
            "status": list(self.status),
            "document": list(self.document),
        }


def query_mix(first_document: str) -> list[BenchQuery]:
    keywords = [
        "authority",
        "procurement",
        "novation",
        "consult contract",
        "staff transfer pension",
        "best value review",
        "scrutiny committee report",
        "tender evaluation criteria",
        "waste licensing fee",
        "ombudsman complaints",
        "equality impact assessment",
        "housing grant loan",
    ]
    phrases = [
        '"duty to consult"',
        '"best value"',
        '"have regard to"',
        '"terms and conditions"',
        '"transfer of undertakings"',
        '"continuous improvement"',
    ]
    citations = [
        "Services Act 3",
        "Commissioning Act 12 2",
        "Workforce Regulations 4",
        "Procurement Act 1999",
        "Governance Regulations 2020 7",
        "Finance Act 2",
    ]
    filtered = [
        BenchQuery("filter", "contract", doc_type=("act",)),
        BenchQuery(
            "filter", "consult staff", status=("in_force", "partially_in_force", "prospective")
        ),
        BenchQuery("filter", "duty", document=(first_document,)),
        BenchQuery("filter", "audit accounts", doc_type=("statutory_guidance", "guidance")),
        BenchQuery("filter", "pension fund", doc_type=("si",), status=("in_force",)),
        BenchQuery("filter", "termination", status=("withdrawn", "superseded", "repealed")),
    ]
    boolean = [
        "contract OR tender",
        "procurement NOT waiver",
        "(staff OR workforce) AND transfer",
        "consult* review",
        "procure* OR commission*",
    ]
    return (
        [BenchQuery("keyword", q) for q in keywords]
        + [BenchQuery("phrase", q) for q in phrases]
        + [BenchQuery("citation", q) for q in citations]
        + filtered
        + [BenchQuery("boolean", q) for q in boolean]
    )
