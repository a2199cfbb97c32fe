"""Person-weighted national deciles on hand-built populations whose cut-offs are known exactly."""
from __future__ import annotations

import pytest

from dtsen.score.deciles import DESIL, WELFARE_RANK, person_deciles


def ranked(spark, rows, n=10, partitions=3):
    df = spark.createDataFrame(rows, "family_id string, pcc double, members int")
    out = person_deciles(df, score="pcc", weight="members", tiebreak="family_id", n=n, partitions=partitions)
    return {r["family_id"]: (r[WELFARE_RANK], r[DESIL]) for r in out.collect()}


def test_equal_families_fill_each_desil_with_a_tenth_of_persons(spark):
    rows = [(f"f{i:03d}", float(1000 - i), 2) for i in range(100)]       # f099 poorest
    got = ranked(spark, rows)
    assert got["f099"] == (1, 1) and got["f000"] == (100, 10)
    for i in range(100):
        assert got[f"f{i:03d}"][1] == 10 - i // 10


def test_family_size_weights_the_cut_offs(spark):
    """One family of 10 and ten families of 1 (20 persons, halves): the big family's midpoint is
    person 5 of 20 -> desil 1; the singles' midpoints 10.5..19.5 -> desil 2 (families never split)."""
    rows = [("big", 1.0, 10)] + [(f"s{i}", 2.0 + i, 1) for i in range(10)]
    got = ranked(spark, rows, n=2)
    assert got["big"] == (1, 1)
    assert all(got[f"s{i}"][1] == 2 for i in range(10))
    assert [got[f"s{i}"][0] for i in range(10)] == list(range(2, 12))


def test_midpoint_exactly_on_a_cut_off_goes_up(spark):
    """Sizes 1, 1, 2 (4 persons, halves): midpoints 0.5, 1.5, 3 -> desil 1, 1, 2. Sizes 1, 2, 1:
    the middle family's midpoint is exactly person 2 of 4, the cut-off -> [2, 4) -> desil 2."""
    assert ranked(spark, [("a", 1.0, 1), ("b", 2.0, 1), ("c", 3.0, 2)], n=2) == {"a": (1, 1), "b": (2, 1), "c": (3, 2)}
    assert ranked(spark, [("a", 1.0, 1), ("b", 2.0, 2), ("c", 3.0, 1)], n=2) == {"a": (1, 1), "b": (2, 2), "c": (3, 2)}


def test_ties_are_broken_by_family_id_whatever_the_partitions(spark):
    rows = [(f"f{i}", 5.0, 1 + i % 3) for i in range(30)]
    one, many = ranked(spark, rows, partitions=1), ranked(spark, rows, partitions=7)
    assert one == many
    order = sorted(one, key=lambda f: one[f][0])
    assert order == sorted(one)                        # equal pcc: family_id ascending


@pytest.mark.parametrize("partitions", [1, 4])
def test_a_huge_family_never_splits_and_shares_stay_near_a_tenth(spark, partitions):
    rows = [(f"f{i:04d}", float(i % 97) + i / 1e4, 1 + (i * 7) % 6) for i in range(1000)]
    got = ranked(spark, rows, partitions=partitions)
    persons = {d: 0 for d in range(1, 11)}
    for (fid, _, members) in rows:
        persons[got[fid][1]] += members
    total = sum(persons.values())
    assert all(abs(p / total - 0.1) < 0.01 for p in persons.values())
    assert sorted(r for r, _ in got.values()) == list(range(1, 1001))
