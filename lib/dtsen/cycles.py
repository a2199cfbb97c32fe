"""Cycle ids: '2026H1' (half-year) or '2026Q3' (quarter); every gold output is keyed by one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dtsen.config import ConfigError

_CYCLE = re.compile(r"^(\d{4})(H[12]|Q[1-4])$")


@dataclass(frozen=True, order=True)
class Cycle:
    year: int
    start_month: int
    months: int

    @property
    def id(self) -> str:
        if self.months == 6:
            return f"{self.year}H{1 if self.start_month == 1 else 2}"
        return f"{self.year}Q{(self.start_month - 1) // 3 + 1}"

    @property
    def reference_date(self) -> date:
        """The date the cycle's data describe: ages, 'not in the future' checks and evolution use it."""
        return date(self.year, self.start_month, 1)

    def months_since(self, other: Cycle) -> int:
        return (self.year - other.year) * 12 + (self.start_month - other.start_month)

    def __str__(self) -> str:
        return self.id


def parse_cycle(text: str) -> Cycle:
    m = _CYCLE.match(text or "")
    if not m:
        raise ConfigError(f"bad cycle id '{text}': use YYYYH1/YYYYH2 (half-yearly) or YYYYQ1..Q4 (quarterly)")
    year, part = int(m.group(1)), m.group(2)
    if part[0] == "H":
        return Cycle(year, 1 if part == "H1" else 7, 6)
    return Cycle(year, (int(part[1]) - 1) * 3 + 1, 3)
