"""Family profiles on hand-built families: composition, head, income, assets, coverage, completeness,
the review queue, and the change table between two cycles."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import H1, H2, car, make_inputs, plain_family, resident, run, survey_row
from pyspark.sql import functions as F

from dtsen.config import ConfigError
from dtsen.profile import build, history, review, rules

PARTS = set(build.PARTS)
QUEUE_VILLAGE, OTHER_VILLAGE = "3202011001", "3301011001"


@pytest.fixture(scope="module")
def big_family(spark, params, ruleset):
    """K: head 45 (civil-registry farmer, but a BUMD job at BPJS-TK), spouse, children 3, 6, 7, 12, 13, 15,
    16, 18 (the 7-, 13- and 16-year-olds in school), grandparents 65 and 71. Two motorcycles, one car,
    two tax returns of the head (the later one counts), JKN for six members (two PBI, one paid class 1,
    one lapsed), PLN 900 VA. E: one person, registered as a child (no head), no survey, no PLN, no JKN.
    N: a plain family without PLN and JKN. LOW, HIGH, NONE (regency 3202) and OTHER (3301) for the queue."""
    ages = [3, 6, 7, 12, 13, 15, 16, 18]
    res = [resident("K", "K-h", 45, "head", occupation="PERTANIAN", education="3"),
           resident("K", "K-s", 41, "spouse", sex="F", occupation="HOMEMAKER"),
           *[resident("K", f"K-c{a}", a) for a in ages],
           resident("K", "K-g1", 65, "parent"), resident("K", "K-g2", 71, "parent", sex="F"),
           resident("E", "E-1", 30, "child"), *plain_family("N")]
    t_tax = int(ruleset.rule("tax_high").threshold)
    t_va = int(ruleset.rule("electricity_high").threshold)
    for f, village in (("LOW", QUEUE_VILLAGE), ("HIGH", QUEUE_VILLAGE), ("NONE", QUEUE_VILLAGE),
                       ("OTHER", OTHER_VILLAGE)):
        res += plain_family(f, village=village)
    edu = [{"family_id": "K", "resident_id": f"K-c{a}", "school_level": "SD", "active": "true"} for a in (7, 13, 16)]
    edu.append({"family_id": "K", "resident_id": "K-c12", "school_level": "SD", "active": "false"})   # dropped out
    health = [{"family_id": "K", "resident_id": r, "segment": s, "care_class": c, "active": a} for r, s, c, a in [
        ("K-h", "PPU", 1, "true"), ("K-s", "PBPU", 3, "true"), ("K-c3", "PBI", 3, "true"),
        ("K-c6", "PBI_DAERAH", 3, "true"), ("K-g1", "PBPU", 2, "true"), ("K-g2", "PBPU", 2, "false")]]
    inputs = make_inputs(
        spark, params, residents=res, education=edu, health=health,
        employment=[{"family_id": "K", "resident_id": "K-h", "employer_sector": "BUMD", "monthly_wage": 2_000_000,
                     "active": "true"},
                    {"family_id": "K", "resident_id": "K-s", "employer_sector": "SWASTA", "monthly_wage": 1_000_000,
                     "active": "true"}],
        tax=[{"family_id": "K", "resident_id": "K-h", "tax_year": 2023, "net_income": 70_000_000, "tax_due": 900_000},
             {"family_id": "HIGH", "resident_id": "HIGH-h", "tax_year": 2024, "net_income": 1, "tax_due": t_tax},
             {"family_id": "K", "resident_id": "K-h", "tax_year": 2024, "net_income": 80_000_000,
              "tax_due": 1_200_000}],
        vehicle=[car("K", 0, build_year=2019, engine_cc=1500, sale_value=120_000_000),
                 {"family_id": "K", "resident_id": "K-h", "vehicle_type": "MOTORCYCLE", "engine_cc": 110,
                  "build_year": 2020, "sale_value": 10_000_000},
                 {"family_id": "K", "resident_id": "K-s", "vehicle_type": "MOTORCYCLE", "engine_cc": 125,
                  "build_year": 2024, "sale_value": 16_000_000}],
        electricity=[{"family_id": "K", "resident_id": "K-h", "capacity_va": 900, "kwh_month": 70.5}]
        + [{"family_id": f, "resident_id": f"{f}-h", "capacity_va": t_va, "kwh_month": 1.0}
           for f in ("LOW", "HIGH", "OTHER")],
        survey=[survey_row("K", cars=1, members=12, members_severely_disabled=1, members_pregnant=1,
                           floor_area_m2=54)]
        + [survey_row(f) for f in ("N", "LOW", "HIGH", "NONE", "OTHER")])
    return run(spark, params, ruleset, inputs)


def test_composition_counts_pkh_components(big_family):
    p = big_family[0].loc["K"]
    got = {c: int(p[c]) for c in ["members", "children_0_6", "children_7_12", "enrolled_7_12", "children_13_15",
                                  "enrolled_13_15", "children_16_18", "enrolled_16_18", "elderly_60_plus",
                                  "elderly_70_plus", "severe_disability"]}
    assert got == {"members": 12, "children_0_6": 2, "children_7_12": 2, "enrolled_7_12": 1, "children_13_15": 2,
                   "enrolled_13_15": 1, "children_16_18": 2, "enrolled_16_18": 1, "elderly_60_plus": 2,
                   "elderly_70_plus": 1, "severe_disability": 1}
    assert p["pregnant_members"] == 1              # told by the survey
    assert list(p["sources_composition"]) == ["dukcapil", "dapodik", "regsosek"]
    assert list(p["member_ids"]) == sorted(["K-h", "K-s", *[f"K-c{a}" for a in (3, 6, 7, 12, 13, 15, 16, 18)],
                                            "K-g1", "K-g2"])


def test_head_income_assets_and_coverage(big_family):
    p = big_family[0].loc["K"]
    assert (p["head_resident_id"], p["head_age"], p["head_sex"], p["head_education"]) == ("K-h", 45, "M", 3)
    # the BPJS-TK job says more than the registry's occupation
    assert (p["head_sector"], bool(p["head_formal"]), p["head_sector_source"]) == ("BUMD", True,
                                                                                   "bpjs_ketenagakerjaan")
    assert (p["formal_workers"], p["formal_wage_month"], p["formal_wage_max"]) == (2, 3_000_000, 2_000_000)
    assert (p["taxpayers"], p["tax_year"], p["taxable_income_year"], p["tax_due_year"]) == (1, 2024, 80_000_000,
                                                                                             1_200_000)
    assert (p["cars"], p["motorcycles"], p["trucks_buses"]) == (1, 2, 0)
    assert (p["car_max_cc"], p["car_newest_age_years"], p["car_max_value"], p["vehicles_value"]) == (
        1500, 2026 - 2019, 120_000_000, 146_000_000)
    assert (p["pln_connections"], p["pln_capacity_va"], p["pln_kwh_month"]) == (1, 900, 70.5)
    # the lapsed membership does not count: 5 covered, 7 uncovered
    assert (p["health_covered"], p["health_pbi"], p["health_paid_class_1"], p["health_paid_class_2"],
            p["health_paid_class_3"], p["health_uncovered"]) == (5, 2, 1, 1, 1, 7)
    assert (p["survey_floor_area_m2"], p["survey_cars"], p["survey_motorcycles"]) == (54, 1, 1)
    assert list(p["sources_income"]) == ["bpjs_ketenagakerjaan", "djp"]
    assert list(p["sources_assets"]) == ["samsat", "regsosek"]
    assert (p["province_code"], p["regency_code"], p["village_code"]) == ("32", "3201", "3201011001")


def test_completeness_markers(big_family, params):
    profiles = big_family[0]
    k, e = profiles.loc["K"], profiles.loc["E"]
    assert bool(k["data_complete"]) and list(k["missing_data"]) == [] and list(k["missing_key_data"]) == []
    assert not any(bool(k[f"missing_{x}"]) for x in PARTS)
    assert all(bool(e[f"missing_{x}"]) for x in PARTS)
    assert list(e["missing_data"]) == list(build.PARTS)
    assert list(e["missing_key_data"]) == list(params.key_parts) and not bool(e["data_complete"])
    assert pd.isna(e["head_resident_id"]) and e["members"] == 1
    assert pd.isna(e["pregnant_members"])          # never interviewed: unknown, not zero


def test_a_missing_non_key_part_is_marked_but_leaves_data_complete(big_family, params):
    assert "electricity" not in params.key_parts
    p = big_family.profiles.loc["N"]
    assert bool(p["missing_electricity"]) and list(p["missing_data"]) == ["electricity", "health_coverage"]
    assert bool(p["data_complete"]) and list(p["missing_key_data"]) == []


def test_key_parts_come_from_conf(spark, conf, ruleset):
    strict = build.Params.from_conf(conf.with_overrides({"profile": {"completeness": {"key_parts": [
        "head", "survey", "electricity"]}}}))
    inputs = make_inputs(spark, strict, residents=plain_family("N"), survey=[survey_row("N")])
    p = run(spark, strict, ruleset, inputs)[0].loc["N"]
    assert list(p["missing_key_data"]) == ["electricity"] and not bool(p["data_complete"])
    with pytest.raises(ConfigError, match="key_parts.*head, survey"):
        build.Params.from_conf(conf.with_overrides({"profile": {"completeness": {"key_parts": ["pregnancy"]}}}))


def test_review_queue_ranks_by_priority_within_regency(big_family, ruleset):
    t_tax = int(ruleset.rule("tax_high").threshold)
    q = big_family.queue
    flagged = set(big_family.flags["family_id"])
    assert set(q.index) == flagged and {"LOW", "HIGH", "OTHER"} <= flagged and "NONE" not in flagged
    assert q.loc["HIGH", "rank_in_regency"] == 1 and q.loc["LOW", "rank_in_regency"] == 2
    assert q.loc["OTHER", "rank_in_regency"] == 1 and q.loc["OTHER", "regency_code"] == "3301"
    pri = {r.rule_id: r.priority for r in ruleset.rules}
    assert q.loc["HIGH", "priority"] == pri["tax_high"] + pri["electricity_high"]
    assert q.loc["HIGH", "flag_outcome"] == "exclude" and q.loc["LOW", "flag_outcome"] == "review"
    assert list(q.loc["HIGH", "flags"]) == ["electricity_high", "tax_high"]
    assert f"djp tax_due {t_tax} vs {t_tax}" in q.loc["HIGH", "evidence"]
    # every regency's ranks run 1..n without gaps
    for _, g in q.groupby("regency_code"):
        assert sorted(g["rank_in_regency"]) == list(range(1, len(g) + 1))


def _cycle(spark, params, ruleset, cycle: str, **tables):
    year = int(cycle[:4])
    inputs = make_inputs(spark, params, **tables)
    prof = build.family_profiles(inputs, params, cycle=cycle, cycle_year=year)
    flags = rules.evaluate(spark, build.measures(inputs, prof, cycle_year=year), ruleset, cycle=cycle)
    s = review.flag_summary(flags).select("family_id", "flags")
    return prof.join(s, "family_id", "left").withColumn("flags", F.coalesce("flags", F.array().cast("array<string>")))


def test_change_table_explains_what_moved(spark, params, ruleset):
    tol = params.min_relative_change
    wage = 1_000_000                  # under every province's UMP, before and after the raise
    small, large = int(wage * (1 + tol / 2)), int(wage * (1 + tol))
    t_cars = int(ruleset.rule("cars_several").threshold)

    def job(fid, w):
        return {"family_id": fid, "resident_id": f"{fid}-h", "employer_sector": "SWASTA", "monthly_wage": w,
                "active": "true"}

    before = _cycle(spark, params, ruleset, H1,
                    residents=plain_family("SAME") + plain_family("BABY") + plain_family("RAISE")
                    + plain_family("CARS") + plain_family("GONE"),
                    employment=[job("SAME", wage), job("RAISE", wage)],
                    survey=[survey_row(f, cars=t_cars) for f in ("SAME", "BABY", "RAISE", "CARS", "GONE")])
    after = _cycle(spark, params, ruleset, H2,
                   residents=plain_family("SAME") + plain_family("BABY") + [resident("BABY", "BABY-b", 0)]
                   + plain_family("RAISE") + plain_family("CARS") + plain_family("NEW"),
                   employment=[job("SAME", small), job("RAISE", large)],
                   vehicle=[car("CARS", i) for i in range(t_cars)],
                   survey=[survey_row(f, cars=t_cars) for f in ("SAME", "BABY", "RAISE", "CARS", "NEW")])
    ch = history.profile_changes(after, before, cycle=H2, previous_cycle=H1,
                                 min_relative_change=tol).toPandas().set_index("family_id")
    assert set(ch.index) == {"BABY", "RAISE", "CARS", "GONE", "NEW"}   # SAME's small drift is no change
    assert list(ch.loc["BABY", "changes"]) == ["composition"]
    assert (ch.loc["BABY", "members_before"], ch.loc["BABY", "members_after"], ch.loc["BABY", "members_joined"],
            ch.loc["BABY", "members_left"]) == (3, 4, 1, 0)
    assert list(ch.loc["RAISE", "changes"]) == ["income"]
    assert (ch.loc["RAISE", "formal_wage_month_before"], ch.loc["RAISE", "formal_wage_month_after"]) == (wage, large)
    assert list(ch.loc["CARS", "changes"]) == ["assets", "flags"]
    assert (ch.loc["CARS", "cars_before"], ch.loc["CARS", "cars_after"]) == (0, t_cars)
    assert "cars_several" in list(ch.loc["CARS", "flags_added"]) and list(ch.loc["CARS", "flags_removed"]) == []
    assert list(ch.loc["GONE", "changes"]) == ["family_gone"] and list(ch.loc["NEW", "changes"]) == ["new_family"]
    assert (ch["cycle"] == H2).all() and (ch["previous_cycle"] == H1).all()
