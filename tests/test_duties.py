"""The duties finder on a labelled set: precision and recall are printed and held to a floor."""

from pathlib import Path

import pytest

from indexer.duties import classify

LABELLED = Path(__file__).parent / "fixtures" / "duties.tsv"


def labelled():
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, holders, text = line.split("\t")
        rows.append((kind, () if holders == "-" else tuple(holders.split(",")), text))
    return rows


ROWS = labelled()


def test_labelled_set_is_large_and_balanced():
    kinds = [kind for kind, _, _ in ROWS]
    assert len(ROWS) >= 60
    assert min(kinds.count("duty"), kinds.count("power"), kinds.count("none")) >= 12


def scores():
    stats = {}
    for kind in ("duty", "power"):
        predicted = [classify(text).kind == kind for _, _, text in ROWS]
        actual = [label == kind for label, _, _ in ROWS]
        tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
        stats[kind] = (tp / max(sum(predicted), 1), tp / max(sum(actual), 1))
    holders_right = sum(
        set(classify(text).holders) == set(holders)
        for kind, holders, text in ROWS
        if kind != "none"
    )
    stats["holder_accuracy"] = holders_right / sum(1 for k, _, _ in ROWS if k != "none")
    return stats


def test_precision_and_recall_on_the_labelled_set():
    stats = scores()
    print(
        f"\nduty precision {stats['duty'][0]:.2f} recall {stats['duty'][1]:.2f}; "
        f"power precision {stats['power'][0]:.2f} recall {stats['power'][1]:.2f}; "
        f"holder accuracy {stats['holder_accuracy']:.2f} on {len(ROWS)} sentences"
    )
    assert stats["duty"][0] >= 0.95 and stats["duty"][1] >= 0.9
    assert stats["power"][0] >= 0.9 and stats["power"][1] >= 0.85
    assert stats["holder_accuracy"] >= 0.85


@pytest.mark.parametrize(
    "text,kind,holders",
    [
        ("A best value authority must consult.", "duty", ("best value authority",)),
        ("The Secretary of State may by order amend Schedule 1.", "power", ("Secretary of State",)),
        ("This Act may be cited as the Example Act 2031.", "none", ()),
        ("It is the duty of the employer to inform employees.", "duty", ("employer",)),
    ],
)
def test_clear_cases(text, kind, holders):
    finding = classify(text)
    assert finding.kind == kind and finding.holders == holders
