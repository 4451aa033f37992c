"""An invented Act with legislation.gov.uk effects in its front matter (the crawler's contract
format), the invented Act that makes most of them, and guidance issued before and after them.

Effects on the Example Services Act 2031 (ukpga/2031/9):
- e-insert: s. 3(5) inserted by ESAA 2032 s 5, in force 1 April 2032, applied (the commentary
  link agrees);
- e-subst: words substituted in s. 3(4) by ESAA 2032 s 6(2), in force 1 June 2032, applied
  (the commentary link wrongly names s 9 of the same Act: the effect wins);
- e-out: s. 4(1) substituted by SI 2033/12 reg. 3, in force 1 January 2033, not yet applied
  (the CLML's own outstanding_changes lists it too, worded differently);
- e-multi: words inserted in s. 1(1) by ESAA 2032 s 2, in force in England and Wales on two
  dates, applied (no commentary link at all);
- e-commence: s. 1 coming into force (not a change to the words: never stale, never a link).
"""

from __future__ import annotations

ACT_ID = "ukpga/2031/9"
AMENDING_ID = "ukpga/2032/4"


def _effect(
    effect_id: str,
    kind: str,
    affected: str,
    pins: list[str],
    affecting: str,
    affecting_title: str,
    affecting_provisions: str,
    affecting_pins: list[str],
    in_force: list[dict],
    applied: bool,
) -> dict:
    return {
        "id": effect_id,
        "type": kind,
        "affected": ACT_ID,
        "affected_provisions": affected,
        "affected_pins": pins,
        "affecting": affecting,
        "affecting_title": affecting_title,
        "affecting_provisions": affecting_provisions,
        "affecting_pins": affecting_pins,
        "in_force": in_force,
        "applied": applied,
        "requires_applied": True,
        "modified": "2033-02-01T09:25:54Z",
    }


def _wholly(date: str | None, prospective: bool = False) -> list[dict]:
    return [
        {
            "date": date,
            "qualification": "wholly in force",
            "applied": False,
            "prospective": prospective,
        }
    ]


ESAA = "Example Services (Amendment) Act 2032"
EFFECTS = [
    _effect(
        "key-insert",
        "inserted",
        "s. 3(5)",
        ["section/3/5"],
        AMENDING_ID,
        ESAA,
        "s. 5",
        ["section/5"],
        _wholly("2032-04-01"),
        True,
    ),
    _effect(
        "key-subst",
        "words substituted",
        "s. 3(4)",
        ["section/3/4"],
        AMENDING_ID,
        ESAA,
        "s. 6(2)",
        ["section/6/2"],
        _wholly("2032-06-01"),
        True,
    ),
    _effect(
        "key-out",
        "substituted",
        "s. 4(1)",
        ["section/4/1"],
        "uksi/2033/12",
        "The Example Services (Charges) Regulations 2033",
        "reg. 3",
        ["regulation/3"],
        _wholly("2033-01-01"),
        False,
    ),
    _effect(
        "key-multi",
        "words inserted",
        "s. 1(1)",
        ["section/1/1"],
        AMENDING_ID,
        ESAA,
        "s. 2",
        ["section/2"],
        [
            {"date": "2032-10-01", "qualification": "W.", "applied": False, "prospective": False},
            {"date": "2032-04-01", "qualification": "E.", "applied": False, "prospective": False},
        ],
        True,
    ),
    _effect(
        "key-commence",
        "coming into force",
        "s. 1",
        ["section/1"],
        AMENDING_ID,
        ESAA,
        "s. 40",
        ["section/40"],
        _wholly("2032-09-01"),
        True,
    ),
]

ACT = {
    "id": ACT_ID,
    "title": "Example Services Act 2031",
    "short_title": "ESA 2031",
    "doc_type": "act",
    "identifier": ACT_ID,
    "status": "in_force",
    "published": "2031-03-01",
    "extent": "E+W",
    "outstanding_changes": [
        {
            "affected": "s. 4(1)",
            "pin": "section/4/1",
            "type": "substituted",
            "by": "uksi/2033/12",
            "by_provisions": "reg. 3",
            "note": "CLML metadata copy of the same change.",
        }
    ],
    "effects": EFFECTS,
    "effects_fetched_at": "2033-02-02T10:00:00Z",
}
ACT_BODY = """{#section-1}
### 1 Duty to provide services

{#section-1-1}
(1) A services authority must provide advice services in its area.

{#section-3}
### 3 Reviews

{#section-3-1}
(1) A services authority must review its advice services every year.

{#section-3-4 amended_by="ukpga/2032/4/section/9" amended_by_change="substituted" amended_by_date="2032-05-01"}
(4) In carrying out a review the authority must consult representatives of service users.

{#section-3-5 amended_by="ukpga/2032/4/section/5" amended_by_change="inserted" amended_by_date="2032-04-01"}
(5) A review must be published within three months.

{#section-4}
### 4 Charges

{#section-4-1}
(1) An authority may make a reasonable charge for advice services.
"""

AMENDING = {
    "id": AMENDING_ID,
    "title": ESAA,
    "short_title": "ESAA 2032",
    "doc_type": "act",
    "identifier": AMENDING_ID,
    "status": "in_force",
    "published": "2032-02-01",
}
AMENDING_BODY = """{#section-2}
### 2 Advice services

{#section-2-1}
(1) Words are inserted into section 1(1) of the 2031 Act.

{#section-5}
### 5 Publication of reviews

{#section-5-1}
(1) A new subsection (5) is inserted into section 3 of the 2031 Act.

{#section-6}
### 6 Consultation

{#section-6-2}
(2) In section 3(4) of the 2031 Act, for "service users" substitute "users and carers".

{#section-9}
### 9 Interpretation

{#section-9-1}
(1) Words used in this Act have their meaning in the 2031 Act.
"""

# Issued before e-insert and e-subst came into force: its paragraph 1.1 is stale.
EARLY_GUIDANCE = {
    "id": "guidance/early-services-guidance",
    "title": "Advice Services Guidance",
    "doc_type": "statutory_guidance",
    "status": "in_force",
    "published": "2032-01-15",
}
EARLY_BODY = """# 1. Reviews

1.1 Section 3(4) of the Example Services Act 2031 requires the authority to consult representatives of service users on every review.

1.2 Authorities should plan their reviews with advice providers.
"""

# Issued after every effect on s 3(4) and s 1(1): nothing it cites has changed since.
LATE_GUIDANCE = {
    "id": "guidance/late-services-guidance",
    "title": "Advice Services Guidance (revised)",
    "doc_type": "guidance",
    "status": "in_force",
    "published": "2032-07-01",
}
LATE_BODY = """# 1. Reviews

1.1 Section 3(4) of the Example Services Act 2031 requires the authority to consult users and carers on every review.

1.2 Section 1(1) of the Example Services Act 2031 sets the duty to provide advice services.
"""

# Published before e-insert, last updated after its own publication but before e-insert and
# e-subst (both inside the s 3 it cites): stale, dated by the update.
UPDATED_POLICY = {
    "id": "local/services-review-policy",
    "title": "Council Advice Services Review Policy",
    "doc_type": "local_policy",
    "status": "in_force",
    "published": "2031-06-01",
    "public_updated": "2032-02-01",
}
UPDATED_BODY = """# 1. Publication

1.1 We review our advice services every year, as section 3 of the Example Services Act 2031 requires.
"""


def write_corpus(write_md) -> None:
    write_md("act.md", ACT, ACT_BODY)
    write_md("amending.md", AMENDING, AMENDING_BODY)
    write_md("early.md", EARLY_GUIDANCE, EARLY_BODY)
    write_md("late.md", LATE_GUIDANCE, LATE_BODY)
    write_md("policy.md", UPDATED_POLICY, UPDATED_BODY)
