"""Each inconsistency rule on hand-built families: it fires at its threshold (with its evidence) and
not just below it. Thresholds, outcomes and UMP values are read from conf, never repeated here."""
from __future__ import annotations

import pytest
from conftest import H1, car, make_inputs, plain_family, resident, run, survey_row

from dtsen.config import ConfigError
from dtsen.profile import rules

PAPUA_VILLAGE = "9101011001"


def _cases(rs: rules.RuleSet, cycle_year: int) -> dict:
    """rule_id -> (rows at the threshold, rows just below, expected evidence (source, value, threshold)).
    Each case is one family 'A<rule>' (at) and one 'B<rule>' (below); every other input is modest."""
    def thr(rule_id: str) -> float:
        return rs.rule(rule_id).threshold

    _, ump = rs.ump_for(H1)
    wage_at = int(round(ump["32"] * rs.rule("wage_above_ump").ump_multiple))
    sectors = rs.rule("state_employee").values
    t_tax, t_cars, t_val = int(thr("tax_high")), int(thr("cars_several")), int(thr("car_high_value"))
    t_cc, t_age, t_area = int(thr("car_large_engine")), int(thr("car_new")), int(thr("house_large"))
    t_undecl, t_va = int(thr("car_undeclared")), int(thr("electricity_high"))

    def job(fid, sector="SWASTA", wage=1_500_000):
        return {"family_id": fid, "resident_id": f"{fid}-h", "employer_sector": sector, "monthly_wage": wage,
                "active": "true"}

    def tax(fid, due):
        return {"family_id": fid, "resident_id": f"{fid}-h", "tax_year": cycle_year - 2, "net_income": 90_000_000,
                "tax_due": due}

    def cars(fid, n, **attrs):
        return {"vehicle": [car(fid, i, **attrs) for i in range(n)], "survey": [survey_row(fid, cars=n)]}

    def pln(fid, va):
        return {"family_id": fid, "resident_id": f"{fid}-h", "capacity_va": va, "kwh_month": 80.0}

    return {
        "state_employee": ({"employment": [job("A", sectors[0])]}, {"employment": [job("B", "SWASTA")]},
                           ("bpjs_ketenagakerjaan", sectors[0], ",".join(sectors))),
        "wage_above_ump": ({"employment": [job("A", wage=wage_at)]}, {"employment": [job("B", wage=wage_at - 1)]},
                           ("bpjs_ketenagakerjaan", str(wage_at), str(wage_at))),
        "tax_high": ({"tax": [tax("A", t_tax)]}, {"tax": [tax("B", t_tax - 1)]}, ("djp", str(t_tax), str(t_tax))),
        "cars_several": (cars("A", t_cars), cars("B", t_cars - 1), ("samsat", str(t_cars), str(t_cars))),
        "car_high_value": (cars("A", 1, sale_value=t_val), cars("B", 1, sale_value=t_val - 1),
                           ("samsat", str(t_val), str(t_val))),
        "car_large_engine": (cars("A", 1, engine_cc=t_cc), cars("B", 1, engine_cc=t_cc - 1),
                             ("samsat", str(t_cc), str(t_cc))),
        "car_new": (cars("A", 1, build_year=cycle_year - t_age), cars("B", 1, build_year=cycle_year - t_age - 1),
                    ("samsat", str(t_age), str(t_age))),
        "car_undeclared": ({"vehicle": [car("A", i) for i in range(t_undecl)], "survey": [survey_row("A", cars=0)]},
                           {"vehicle": [car("B", i) for i in range(t_undecl)],
                            "survey": [survey_row("B", cars=1)]},
                           ("samsat+regsosek", str(t_undecl), str(t_undecl))),
        "house_large": ({"survey": [survey_row("A", floor_area_m2=t_area)]},
                        {"survey": [survey_row("B", floor_area_m2=t_area - 1)]},
                        ("regsosek", str(t_area), str(t_area))),
        "electricity_high": ({"electricity": [pln("A", t_va)]}, {"electricity": [pln("B", t_va - 1)]},
                             ("pln", str(t_va), str(t_va))),
    }


def _rename(rows: dict, old: str, new: str) -> dict:
    out = {}
    for table, items in rows.items():
        out[table] = []
        for r in items:
            r = dict(r)
            r["family_id"] = new
            for k in ("resident_id", "record_key"):
                if isinstance(r.get(k), str):
                    r[k] = r[k].replace(f"{old}-", f"{new}-").replace(f"-{old}", f"-{new}")
            out[table].append(r)
    return out


def _extra_families(rs: rules.RuleSet) -> dict[str, list]:
    """Families for the tests after the per-rule ones (same run: one Spark pass for the module)."""
    _, ump = rs.ump_for(H1)
    sector = rs.rule("state_employee").values[1]
    wage = int(round(ump["32"] * rs.rule("wage_above_ump").ump_multiple))
    t_cc = int(rs.rule("car_large_engine").threshold)

    def job(fid, sector, w, active="true"):
        return {"family_id": fid, "resident_id": f"{fid}-h", "employer_sector": sector, "monthly_wage": w,
                "active": active}
    return {
        # X: a state employee by the civil registry's occupation only
        "residents": plain_family("X", head_occupation=sector) + plain_family("JB")
        + plain_family("PA", village=PAPUA_VILLAGE) + plain_family("M") + plain_family("Q"),
        # JB / PA: the same wage is at the UMP in Jawa Barat and under it in Papua
        # Q: a lapsed state job with a high wage is no evidence
        "employment": [job("JB", "SWASTA", wage), job("PA", "SWASTA", wage),
                       job("Q", rs.rule("state_employee").values[0], 50_000_000, "false")],
        # M: two large cars; the larger is the evidence, both are counted
        "vehicle": [car("M", 0, engine_cc=t_cc), car("M", 1, engine_cc=t_cc + 500)],
        "survey": [survey_row(f) for f in ("X", "JB", "PA", "Q")] + [survey_row("M", cars=2)]}


@pytest.fixture(scope="module")
def outcome(spark, params, ruleset):
    """All cases in one run: families '<rule>:at' and '<rule>:below', and _extra_families."""
    cases = _cases(ruleset, int(H1[:4]))
    tables: dict[str, list] = {k: list(v) for k, v in _extra_families(ruleset).items()}
    for rule_id, (at, below, _) in cases.items():
        for side, rows, old in (("at", at, "A"), ("below", below, "B")):
            fid = f"{rule_id}:{side}"
            tables["residents"].extend(plain_family(fid))
            for table, items in _rename(rows, old, fid).items():
                tables.setdefault(table, []).extend(items)
            if "survey" not in rows:
                tables["survey"].append(survey_row(fid))
    profiles, flags, _ = run(spark, params, ruleset, make_inputs(spark, params, **tables))
    return cases, profiles, flags


def test_every_configured_rule_has_a_case(outcome, ruleset):
    cases, _, _ = outcome
    assert set(cases) == {r.rule_id for r in ruleset.rules}


@pytest.mark.parametrize("rule_id", ["state_employee", "wage_above_ump", "tax_high", "cars_several", "car_high_value",
                                     "car_large_engine", "car_new", "car_undeclared", "house_large",
                                     "electricity_high"])
def test_rule_fires_at_threshold_not_below(outcome, ruleset, rule_id):
    cases, profiles, flags = outcome
    rule = ruleset.rule(rule_id)
    at = flags[flags["family_id"] == f"{rule_id}:at"]
    below = flags[flags["family_id"] == f"{rule_id}:below"]
    assert list(at["rule_id"]) == [rule_id], at            # this rule and no other
    assert below.empty, below
    f = at.iloc[0]
    source, value, threshold = cases[rule_id][2]
    assert (f["outcome"], f["rule_version"], f["priority"]) == (rule.outcome, ruleset.version, rule.priority)
    assert (f["evidence_source"], f["evidence_value"], f["evidence_threshold"]) == (source, value, threshold)
    assert f["evidence_measure"] in rule.measures and f["evidence_records"] >= 1
    # record-level evidence names the record (family-level counts have none)
    if f["evidence_measure"] not in ("car_count", "cars_undeclared"):
        assert isinstance(f["evidence_record_key"], str) and f["evidence_record_key"]


def test_state_employee_also_fires_on_the_registry_occupation(outcome, ruleset):
    flags = outcome[2]
    x = flags[flags["family_id"] == "X"]
    assert x[["rule_id", "evidence_source", "evidence_value", "evidence_record_key", "evidence_resident_id"]] \
        .values.tolist() == [["state_employee", "dukcapil", ruleset.rule("state_employee").values[1], "dk-X-h", "X-h"]]


def test_wage_rule_uses_the_family_province_ump(outcome, ruleset):
    _, ump = ruleset.ump_for(H1)
    assert ump["91"] > ump["32"]
    flags = outcome[2]
    assert flags[flags["family_id"].isin(["JB", "PA"])][["family_id", "rule_id"]].values.tolist() == [
        ["JB", "wage_above_ump"]]


def test_strongest_evidence_is_kept_and_records_counted(outcome, ruleset):
    t = int(ruleset.rule("car_large_engine").threshold)
    flags = outcome[2]
    f = flags[flags["family_id"] == "M"]
    assert set(f["rule_id"]) == {"car_large_engine", "cars_several"}
    f = f[f["rule_id"] == "car_large_engine"].iloc[0]
    assert (f["evidence_value"], f["evidence_record_key"], f["evidence_records"]) == (str(t + 500), "car-M-1", 2)


def test_inactive_jobs_are_not_evidence(outcome):
    flags = outcome[2]
    assert flags[flags["family_id"] == "Q"].empty
    assert outcome[1].loc["Q", "formal_workers"] == 0


def test_a_province_without_ump_stops_the_run(spark, params, ruleset):
    _, ump = ruleset.ump_for(H1)
    partial = rules.RuleSet(ruleset.version, ruleset.rules,
                            {y: {p: v for p, v in t.items() if p != "91"} for y, t in ruleset.ump.items()})
    inputs = make_inputs(spark, params, residents=[resident("P", "P-h", 40, "head", village=PAPUA_VILLAGE)],
                         employment=[{"family_id": "P", "resident_id": "P-h", "employer_sector": "SWASTA",
                                      "monthly_wage": 1_000_000, "active": "true"}])
    with pytest.raises(ConfigError, match="no UMP for province.*91"):
        run(spark, params, partial, inputs)


@pytest.mark.parametrize("override, message", [
    ({"profile": {"rules": {"tax_high": {"measures": ["tax_paid"]}}}}, "unknown.*tax_paid"),
    ({"profile": {"rules": {"tax_high": {"outcome": "deny"}}}}, "tax_high.outcome.*exclude, review"),
    ({"profile": {"rules": {"tax_high": {"threshold": "lots"}}}}, "tax_high.threshold must be a number"),
    ({"profile": {"rules": {"car_new": {"kind": "newer_than"}}}}, "car_new.kind"),
    ({"profile": {"rules": {"state_employee": {"kind": "at_least", "threshold": 1}}}}, "text measures"),
    ({"profile": {"version": ""}}, "profile.version"),
    ({"profile": {"ump": {"2025": {"32": -5}}}}, r"profile.ump.2025.32 must be positive"),
])
def test_bad_rule_configuration_says_what_to_fix(conf, override, message):
    with pytest.raises(ConfigError, match=message):
        rules.load_rules(conf.with_overrides(override))


def test_a_cycle_before_every_ump_year_is_a_config_error(ruleset):
    with pytest.raises(ConfigError, match="no year at or before 2019"):
        ruleset.ump_for("2019H2")
