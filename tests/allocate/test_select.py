"""Selection on hand-built eligibility rows: rank order, quotas, budgets and stacking limits."""
from __future__ import annotations

import dataclasses

import pytest

from dtsen.allocate import select as S
from dtsen.allocate.programs import load_programs

REG_A, REG_B = "3201", "3202"


def elig_rows(spark, rows):
    """rows: (family_id, program, regency, welfare_rank, category, benefit, eligible)."""
    data = [("2026H1", f, p, reg[:2], reg, reg + "001001", 3, 1, cat, rank, ok, benefit, 1, [], [], [], [], "t")
            for f, p, reg, rank, cat, benefit, ok in rows]
    schema = ("cycle string, family_id string, program string, province_code string, regency_code string, "
              "village_code string, members int, desil int, category string, welfare_rank long, eligible boolean, "
              "benefit_rp long, units_paid int, reasons_id array<string>, reasons_en array<string>, "
              "failed_id array<string>, failed_en array<string>, config_version string")
    return spark.createDataFrame(data, schema)


@pytest.fixture(scope="module")
def two_programs(conf):
    """PKH (priority 1) and SEMBAKO (2) only, quotas as given (no scaling)."""
    full = load_programs(conf, "2026H1", {"PKH": {"quota": {"families": 2}, "weight": "eligible_families"},
                                          "SEMBAKO": {"quota": {"families": 2}, "weight": "eligible_families"}})
    keep = tuple(p for p in full.programs if p.program in ("PKH", "SEMBAKO"))
    return dataclasses.replace(full, programs=keep, scale="none", max_programs=5, max_benefit_rp=10 ** 12)


def run(spark, programs, rows):
    elig = elig_rows(spark, rows)
    q = S.quotas(elig, programs, cycle="2026H1")
    out = S.select(elig, q, programs, cycle="2026H1").toPandas()
    return out.set_index(["program", "family_id"]).sort_index(), q.toPandas()


def test_lowest_welfare_rank_first_then_severity_then_family_id(spark, two_programs):
    rows = [(f, "PKH", REG_A, r, c, 100, True) for f, r, c in
            [("f1", 5, "Miskin"), ("f2", 1, "Rentan Miskin"), ("f3", 3, "Sangat Miskin"), ("f4", 9, "Miskin")]]
    rows += [("f5", "PKH", REG_A, 9, "Sangat Miskin", 100, True), ("f6", "PKH", REG_A, None, "Miskin", 100, False)]
    out, q = run(spark, two_programs, rows)
    pkh = out.loc["PKH"]
    assert list(pkh.index[pkh["outcome"] == "recipient"]) == ["f2", "f3"]
    # waitlist: rank 5 next, then the two rank-9 families: Sangat Miskin before Miskin
    wait = pkh[pkh["outcome"] == "waitlisted"].sort_values("waitlist_rank")
    assert list(wait.index) == ["f1", "f5", "f4"] and list(wait["waitlist_rank"]) == [1, 2, 3]
    assert "f6" not in pkh.index                     # not eligible: no selection row
    assert wait.loc["f1", "reason_en"] == "outside the PKH quota: waitlist rank 1"


def test_max_programs_skips_a_family_and_gives_the_slot_to_the_next(spark, two_programs):
    limited = dataclasses.replace(two_programs, max_programs=1)
    rows = [(f, p, REG_A, r, "Miskin", 100, True) for p in ("PKH", "SEMBAKO")
            for f, r in [("f1", 1), ("f2", 2), ("f3", 3)]]
    out, _ = run(spark, limited, rows)
    assert list(out.loc["PKH"].query("outcome == 'recipient'").index) == ["f1", "f2"]
    sem = out.loc["SEMBAKO"]
    # f1 and f2 already hold PKH (priority 1): SEMBAKO's two slots go to f3 and nobody else
    assert list(sem.query("outcome == 'recipient'").index) == ["f3"]
    assert sem.loc["f1", "reason_en"].startswith("stacking limit reached (at most 1 programs")
    assert sem.loc["f1", "waitlist_rank"] == 1 and sem.loc["f2", "waitlist_rank"] == 2


def test_max_benefit_blocks_a_program_that_would_exceed_it(spark, two_programs):
    limited = dataclasses.replace(two_programs, max_benefit_rp=1000)
    rows = [("f1", "PKH", REG_A, 1, "Miskin", 900, True), ("f1", "SEMBAKO", REG_A, 1, "Miskin", 200, True),
            ("f2", "SEMBAKO", REG_A, 2, "Miskin", 100, True)]
    out, _ = run(spark, limited, rows)
    assert out.loc[("PKH", "f1"), "outcome"] == "recipient"
    assert out.loc[("SEMBAKO", "f1"), "outcome"] == "waitlisted"      # 900 + 200 > 1000
    assert out.loc[("SEMBAKO", "f2"), "outcome"] == "recipient"


def test_budget_programs_select_while_the_regency_budget_lasts(spark, two_programs):
    budget = dataclasses.replace(two_programs, programs=tuple(
        dataclasses.replace(p, quota_families=None, budget_rp=1000) if p.program == "SEMBAKO" else p
        for p in two_programs.programs))
    rows = [(f, "SEMBAKO", reg, r, "Miskin", b, True) for f, reg, r, b in
            [("a1", REG_A, 1, 400), ("a2", REG_A, 2, 500), ("a3", REG_A, 3, 300), ("b1", REG_B, 4, 100)]]
    out, q = run(spark, budget, rows)
    sem = out.loc["SEMBAKO"]
    # 1000 Rp split by eligible families 3:1 -> 750 / 250: A takes a1 (400), a2 would make 900 > 750
    assert q.query("level == 'regency'").set_index("regency_code")["budget_rp"].to_dict() == {REG_A: 750,
                                                                                             REG_B: 250}
    assert list(sem.query("outcome == 'recipient'").index) == ["a1", "b1"]
    assert sem.loc["a2", "reason_en"] == "outside the SEMBAKO budget: waitlist rank 1"


def test_regions_without_eligible_families_get_no_quota(spark, two_programs):
    rows = [("a1", "PKH", REG_A, 1, "Miskin", 100, True), ("b1", "PKH", REG_B, 2, "Miskin", 100, False)]
    _, q = run(spark, two_programs, rows)
    pkh = q.query("program == 'PKH' and level == 'regency'").set_index("regency_code")["quota_families"]
    assert pkh.to_dict() == {REG_A: 2, REG_B: 0}
