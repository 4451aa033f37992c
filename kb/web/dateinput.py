"""GOV.UK's date input: a date typed as Day, Month and Year fields, read back as one ISO date.

A form sends `<name>_day`, `<name>_month` and `<name>_year`; a link may instead carry the ISO
date itself (`as_at=2031-04-01`), which then fills the three fields. An incomplete or
impossible date is an error naming the field, never silently ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PARTS = ("day", "month", "year")


@dataclass
class DateInput:
    name: str  # the ISO parameter: "as_at"
    label: str  # the legend: "Law as it stood on"
    day: str = ""
    month: str = ""
    year: str = ""
    value: str = ""  # YYYY-MM-DD, or "" when no date was given
    error: str | None = None
    wrong: tuple[str, ...] = ()  # the fields the error is about (all three when none is named)

    def invalid(self, part: str) -> bool:
        return self.error is not None and part in self.wrong


def read_date(args, name: str, label: str) -> DateInput:
    """The date in a request's arguments: from the three fields if any was filled, else from
    the ISO parameter."""
    typed = {part: (args.get(f"{name}_{part}") or "").strip()[:10] for part in PARTS}
    if any(typed.values()):
        return _from_fields(name, label, typed)
    raw = (args.get(name) or "").strip()
    if not raw:
        return DateInput(name, label)
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return DateInput(
            name,
            label,
            error=f"“{label}” must be a date like 21 10 2008, not {raw[:20]!r}.",
            wrong=PARTS,
        )
    return DateInput(name, label, str(day.day), str(day.month), str(day.year), day.isoformat())


def _from_fields(name: str, label: str, typed: dict[str, str]) -> DateInput:
    found = DateInput(name, label, typed["day"], typed["month"], typed["year"])
    missing = tuple(part for part in PARTS if not typed[part])
    if missing:
        found.error = f"“{label}” must include a {' and '.join(missing)}."
        found.wrong = missing
        return found
    if not all(typed[part].isdigit() for part in PARTS):
        found.error = f"“{label}” must be a real date, in numbers, like 21 10 2008."
        found.wrong = tuple(part for part in PARTS if not typed[part].isdigit())
        return found
    if len(typed["year"]) != 4:
        found.error = f"The year of “{label}” must include 4 numbers."
        found.wrong = ("year",)
        return found
    try:
        day = dt.date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        found.error = f"“{label}” must be a real date, like 21 10 2008."
        found.wrong = ("month",) if not 1 <= int(typed["month"]) <= 12 else ("day",)
        return found
    found.value = day.isoformat()
    return found
