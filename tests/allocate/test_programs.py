"""The program catalog: versions per cycle, and bad configuration stopped with a message saying what to fix."""
from __future__ import annotations

import pytest

from dtsen.allocate.programs import load_programs
from dtsen.config import ConfigError


def test_base_version_and_revision_per_cycle(conf):
    h1, h2 = load_programs(conf, "2026H1"), load_programs(conf, "2026H2")
    assert (h1.version, h2.version) == ("2026.1", "2026.2")
    assert h1.program("SEMBAKO").quota_families == 18_800_000 and h2.program("SEMBAKO").quota_families == 20_000_000
    pkh = h1.program("PKH")
    assert (pkh.desil_lo, pkh.desil_hi, pkh.max_units) == (1, 4, 4)       # DESIGN.md default range
    assert [p.program for p in h1.programs][:3] == ["PKH", "SEMBAKO", "PBI_JK"]    # priority order
    assert pkh.benefit[0][1] >= pkh.benefit[-1][1]                          # dearest component first
    with pytest.raises(ConfigError, match="no program catalog for cycle 2025H2"):
        load_programs(conf, "2025H2")


@pytest.mark.parametrize("override, message", [
    ({"PKH": {"desil": [0, 4]}}, r"PKH.desil must be \[lo, hi\] with 1 <= lo <= hi <= 10"),
    ({"PKH": {"desil": [3, 11]}}, r"PKH.desil"),
    ({"SEMBAKO": {"quota": {"families": -5}}}, r"SEMBAKO.quota.families must be a whole number >= 0"),
    ({"SEMBAKO": {"quota": {"people": 5}}}, r"SEMBAKO.quota must be \{families: N\} or \{budget_rp: N\}"),
    ({"SEMBAKO": {"desli": [1, 5]}}, r"SEMBAKO: unknown key\(s\) \['desli'\]"),
    ({"PKH": {"benefit": {"goats": 5}}}, r"PKH.benefit: unknown unit\(s\) \['goats'\]"),
    ({"PKH": {"weight": "votes"}}, r"PKH.weight is 'votes'"),
    ({"NOT_A_PROGRAM": {"desil": [1, 2]}}, r"unknown program\(s\) \['NOT_A_PROGRAM'\]"),
])
def test_bad_program_settings_are_config_errors(conf, override, message):
    with pytest.raises(ConfigError, match=message):
        load_programs(conf, "2026H1", override)


def test_missing_benefit_and_unknown_program_in_a_revision(conf):
    raw = conf.section("programs")
    no_benefit = {k: v for k, v in raw["catalog"]["CBP"].items() if k != "benefit"}
    bad = conf.with_overrides({"programs": {"catalog": {"CBP": None}}})
    bad = bad.with_overrides({"programs": {"catalog": {"CBP": no_benefit}}})
    with pytest.raises(ConfigError, match="CBP has no 'benefit'"):
        load_programs(bad, "2026H1")
    rev = conf.with_overrides({"programs": {"revisions": [{"version": "2026.9", "effective_from": "2026H2",
                                                           "catalog": {"PKX": {"desil": [1, 3]}}}]}})
    with pytest.raises(ConfigError, match=r"changes unknown program\(s\) \['PKX'\]"):
        load_programs(rev, "2026H1")
    with pytest.raises(ConfigError, match="priorities must be unique"):
        load_programs(conf, "2026H1", {"CBP": {"priority": 1}})
