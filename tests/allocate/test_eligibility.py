"""Eligibility on hand-built families: PKH's benefit pays the dearest components first, at most
max_units of them (conf/base/programs.yml: 4; Rp 1.5 M pregnancy / child 0-6, 1.2 M elderly or
disability, 1.0 / 0.75 / 0.45 M school SMA / SMP / SD)."""
from __future__ import annotations

import pytest

from dtsen.allocate.eligibility import eligibility
from dtsen.allocate.programs import load_programs

PROFILE = ("family_id string, province_code string, regency_code string, village_code string, members int, "
           "pregnant_members int, children_0_6 int, enrolled_7_12 int, enrolled_13_15 int, enrolled_16_18 int, "
           "elderly_70_plus int, severe_disability int, data_complete boolean, missing_key_data array<string>")
# family: (pregnant, children 0-6, SD, SMP, SMA, elderly, disability), desil
FAMILIES = {
    "over_the_cap": ((1, 2, 3, 0, 0, 2, 0), 2),     # 2 children + pregnancy, then 1 of 2 elderly: 4 units
    "under_the_cap": ((0, 0, 2, 1, 0, 0, None), 3),  # 2 SD + 1 SMP, disability unknown (0)
    "cap_on_one_kind": ((None, 0, 6, 0, 0, 0, 0), 1),  # 4 of 6 SD children
    "out_of_range": ((0, 1, 0, 0, 0, 0, 0), 7),      # desil 7 is outside PKH's 1-4
    "no_component": ((0, 0, 0, 0, 0, 0, 0), 1),
}
EXPECTED = {   # (eligible, benefit_rp, units_paid)
    "over_the_cap": (True, 2 * 1_500_000 + 1_500_000 + 1_200_000, 4),
    "under_the_cap": (True, 2 * 450_000 + 750_000, 3),
    "cap_on_one_kind": (True, 4 * 450_000, 4),
    "out_of_range": (False, 0, 0),
    "no_component": (False, 0, 0),
}


@pytest.fixture(scope="module")
def pkh(spark, conf):
    profiles = spark.createDataFrame(
        [(f, "32", "3201", "3201010001", 3 + sum(x or 0 for x in units), *units, True, [])
         for f, (units, _) in FAMILIES.items()], PROFILE)
    scores = spark.createDataFrame([(f, desil, "Miskin", i + 1) for i, (f, (_, desil)) in enumerate(FAMILIES.items())],
                                   "family_id string, desil int, category string, welfare_rank long")
    flags = spark.createDataFrame([], "family_id string, rule_id string, outcome string")
    rows = eligibility(profiles, scores, flags, load_programs(conf, "2026H1"), cycle="2026H1")
    return {r["family_id"]: r for r in rows.where("program = 'PKH'").collect()}


def test_pkh_pays_the_dearest_components_first_up_to_four(pkh):
    got = {f: (r["eligible"], r["benefit_rp"], r["units_paid"]) for f, r in pkh.items()}
    assert got == EXPECTED


def test_every_program_has_one_row_per_family_with_its_reasons(spark, conf):
    profiles = spark.createDataFrame([("f1", "32", "3201", "3201010001", 4, 0, 1, 1, 0, 0, 1, 0, True, [])], PROFILE)
    scores = spark.createDataFrame([("f1", 1, "Sangat Miskin", 1)],
                                   "family_id string, desil int, category string, welfare_rank long")
    flags = spark.createDataFrame([], "family_id string, rule_id string, outcome string")
    programs = load_programs(conf, "2026H1")
    rows = eligibility(profiles, scores, flags, programs, cycle="2026H1").toPandas()
    assert sorted(rows["program"]) == sorted(p.program for p in programs.programs)
    assert rows["reasons_id"].map(len).gt(0).all() and rows["reasons_en"].map(len).gt(0).all()
    assert (rows["failed_id"].map(len) == 0).eq(rows["eligible"]).all()
