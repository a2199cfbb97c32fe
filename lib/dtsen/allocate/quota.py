"""Quotas as whole numbers that sum exactly to the whole: largest remainder (Hamilton), with floors.

Pure Python on region totals (a few hundred regencies), exact arithmetic with Fractions, so the
result never depends on float rounding or dict order:
* a region with zero (or no) weight gets 0, floor or not;
* floors: a region with weight whose proportional share falls under its floor gets the floor, and
  the rest is shared again among the others (repeated until no share falls under a floor);
* the remaining seats go to the largest remainders; ties go to the smaller region code;
* floors that add up to more than the total are a ConfigError (lower the floor or raise the quota).
If every weight is zero nothing can be allocated: every region gets 0 (the caller reports the
whole total as unallocated).
"""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from dtsen.config import ConfigError


def largest_remainder(total: int, weights: Mapping[str, float | int],
                      floors: Mapping[str, int] | int = 0) -> dict[str, int]:
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ConfigError(f"a quota must be a whole number >= 0, got {total!r}")
    if any(w is None or w < 0 for w in weights.values()):
        raise ValueError(f"weights must be >= 0: {dict(weights)}")
    out = {code: 0 for code in weights}
    live = {code: Fraction(w) for code, w in weights.items() if w > 0}
    if not live or total == 0:
        return out
    floor_of = {code: (floors if isinstance(floors, int) else int(floors.get(code, 0))) for code in live}
    if sum(floor_of.values()) > total:
        raise ConfigError(f"floors add up to {sum(floor_of.values()):,} over {len(live)} regions with eligible "
                          f"families, more than the quota of {total:,}: lower floor_per_regency or raise the quota")
    fixed: dict[str, int] = {}
    while True:
        rest = total - sum(fixed.values())
        free = {c: w for c, w in live.items() if c not in fixed}
        weight = sum(free.values())
        shares = {c: rest * w / weight for c, w in free.items()}
        under = [c for c, s in shares.items() if s < floor_of[c]]
        if not under:
            break
        fixed.update({c: floor_of[c] for c in under})
    out.update(fixed)
    whole = {c: int(s) for c, s in shares.items()}            # floor of a non-negative Fraction
    left = total - sum(fixed.values()) - sum(whole.values())
    order = sorted(shares, key=lambda c: (-(shares[c] - whole[c]), c))
    for c in order[:left]:
        whole[c] += 1
    out.update(whole)
    return out


def allocate_hierarchy(total: int, regency_weights: Mapping[str, float | int], *,
                       floor_per_regency: int = 0) -> tuple[dict[str, int], dict[str, int]]:
    """National total -> provinces (the first two digits of a regency code) -> regencies.

    A province's weight is the sum of its regencies' weights and its floor the sum of their floors,
    so the regency floors hold after both steps. Returns (province quotas, regency quotas); both sum
    to the total (or to 0 when no region has weight)."""
    provinces: dict[str, Fraction] = {}
    prov_floor: dict[str, int] = {}
    for code, w in regency_weights.items():
        p = code[:2]
        provinces[p] = provinces.get(p, Fraction(0)) + Fraction(w)
        if w > 0:
            prov_floor[p] = prov_floor.get(p, 0) + floor_per_regency
    by_province = largest_remainder(total, provinces, prov_floor)
    by_regency: dict[str, int] = {}
    for p, q in sorted(by_province.items()):
        members = {c: w for c, w in regency_weights.items() if c[:2] == p}
        by_regency.update(largest_remainder(q, members, floor_per_regency))
    return by_province, by_regency
