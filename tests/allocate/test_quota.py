"""Largest remainder with floors: exact sums, deterministic ties, zero-weight regions, bad floors."""
from __future__ import annotations

import pytest

from dtsen.allocate.quota import allocate_hierarchy, largest_remainder
from dtsen.config import ConfigError


def test_proportional_shares_sum_exactly_to_the_total():
    got = largest_remainder(10, {"3201": 1, "3202": 1, "3203": 1})
    # 10/3 each: one extra seat, to the smallest code among equal remainders
    assert got == {"3201": 4, "3202": 3, "3203": 3}
    got = largest_remainder(100, {"a": 7, "b": 13, "c": 80})
    assert got == {"a": 7, "b": 13, "c": 80}


def test_larger_remainder_wins_before_the_region_code():
    # shares 2.4 / 3.6 / 6.0: the one seat left goes to 'b' (remainder .6) not 'a' (.4)
    assert largest_remainder(12, {"a": 2, "b": 3, "c": 5}) == {"a": 2, "b": 4, "c": 6}


def test_ties_break_on_region_code_whatever_the_input_order():
    w = {"3275": 1, "3201": 1, "1101": 1, "9101": 1}
    a = largest_remainder(6, w)
    b = largest_remainder(6, dict(reversed(list(w.items()))))
    assert a == b == {"1101": 2, "3201": 2, "3275": 1, "9101": 1}


def test_zero_weight_regions_get_nothing_even_with_a_floor():
    got = largest_remainder(9, {"a": 0, "b": 2, "c": 1}, floors=2)
    assert got == {"a": 0, "b": 6, "c": 3}
    assert largest_remainder(5, {"a": 0, "b": 0}) == {"a": 0, "b": 0}       # nothing to allocate to
    assert largest_remainder(0, {"a": 3, "b": 1}) == {"a": 0, "b": 0}


def test_floors_lift_small_regions_and_the_rest_is_shared_again():
    got = largest_remainder(100, {"big": 97, "small1": 2, "small2": 1}, floors=5)
    assert got["small1"] == 5 and got["small2"] == 5 and got["big"] == 90
    assert sum(got.values()) == 100
    # per-region floors
    got = largest_remainder(10, {"a": 1, "b": 1}, floors={"a": 8})
    assert got == {"a": 8, "b": 2}


def test_floors_above_the_total_are_a_config_error():
    with pytest.raises(ConfigError, match="floor_per_regency"):
        largest_remainder(5, {"a": 1, "b": 1, "c": 1}, floors=2)
    with pytest.raises(ConfigError, match=">= 0"):
        largest_remainder(-1, {"a": 1})


def test_national_to_provinces_to_regencies_sums_at_every_level():
    weights = {"3201": 500, "3202": 300, "3273": 0, "1101": 150, "1171": 50, "9101": 7}
    prov, reg = allocate_hierarchy(1000, weights, floor_per_regency=10)
    assert sum(prov.values()) == sum(reg.values()) == 1000
    assert reg["3273"] == 0 and reg["9101"] >= 10
    for p, q in prov.items():
        assert sum(v for c, v in reg.items() if c[:2] == p) == q
    # Papua (7 of 1007) falls under its floor: 10; the other 990 go 800:200
    assert prov == {"11": 198, "32": 792, "91": 10}
