"""The program catalog (conf/base/programs.yml), versioned per cycle and checked before any work.

`load_programs(conf, cycle)` merges the base block and every revision in force for the cycle and
returns a `ProgramSet`; every mistake is a ConfigError naming the key and what to put there.
"""
from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass

from dtsen.config import Config, ConfigError, _deep_merge
from dtsen.cycles import parse_cycle

WHERE = "conf/base/programs.yml"
# Units a benefit or requirement counts, per family -> the family_profiles expression (SQL) that counts it.
UNITS: dict[str, str] = {
    "family": "1",
    "members": "members",
    "pregnant": "coalesce(pregnant_members, 0)",
    "children_0_6": "children_0_6",
    "enrolled_7_12": "enrolled_7_12",
    "enrolled_13_15": "enrolled_13_15",
    "enrolled_16_18": "enrolled_16_18",
    "elderly_70_plus": "elderly_70_plus",
    "severe_disability": "coalesce(severe_disability, 0)",
}
WEIGHTS = ("eligible_persons", "eligible_families")
PROGRAM_FIELDS = {"name", "priority", "desil", "requires_any", "benefit", "max_units", "quota", "weight",
                  "floor_per_regency", "require_complete_data"}
_PROGRAM_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
DECILES = 10


@dataclass(frozen=True)
class Program:
    program: str
    name: str
    priority: int
    desil_lo: int
    desil_hi: int
    requires_any: tuple[str, ...]
    benefit: tuple[tuple[str, int], ...]     # (unit, Rp per unit), dearest first
    max_units: int | None
    quota_families: int | None               # exactly one of quota_families / budget_rp is set
    budget_rp: int | None
    weight: str
    floor_per_regency: int
    require_complete_data: bool

    @property
    def desil_text(self) -> str:
        return f"{self.desil_lo}-{self.desil_hi}"


@dataclass(frozen=True)
class ProgramSet:
    version: str
    cycle: str
    programs: tuple[Program, ...]            # in priority order
    scale: str
    reference_families: int
    max_programs: int
    max_benefit_rp: int
    poverty_line: float
    exclusion_reasons: dict[str, dict[str, str]]

    def program(self, key: str) -> Program:
        for p in self.programs:
            if p.program == key:
                return p
        raise ConfigError(f"unknown program '{key}'; the catalog has {', '.join(self.ids)} ({WHERE})")

    @property
    def ids(self) -> list[str]:
        return [p.program for p in self.programs]


def _whole(where: str, value, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where} must be a whole number >= {minimum}, got {value!r} ({WHERE})")
    return value


def _program(key: str, spec) -> Program:
    where = f"programs.catalog.{key}"
    if not _PROGRAM_ID.match(str(key)):
        raise ConfigError(f"{where}: program keys are upper-case identifiers such as PKH or BLT_KESRA ({WHERE})")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping with name, priority, desil, benefit and quota ({WHERE})")
    unknown = sorted(set(spec) - PROGRAM_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(sorted(PROGRAM_FIELDS))} ({WHERE})")
    for required in ("priority", "desil", "benefit", "quota"):
        if required not in spec:
            raise ConfigError(f"{where} has no '{required}' ({WHERE})")
    desil = spec["desil"]
    if (not isinstance(desil, list) or len(desil) != 2 or any(isinstance(d, bool) or not isinstance(d, int)
                                                              for d in desil)
            or not 1 <= desil[0] <= desil[1] <= DECILES):
        raise ConfigError(f"{where}.desil must be [lo, hi] with 1 <= lo <= hi <= {DECILES}, got {desil!r} ({WHERE})")
    benefit = spec["benefit"]
    if not isinstance(benefit, dict) or not benefit:
        raise ConfigError(f"{where}.benefit must map at least one unit to Rp, e.g. {{family: 1200000}}; "
                          f"units: {', '.join(UNITS)} ({WHERE})")
    bad = [u for u in benefit if u not in UNITS]
    if bad:
        raise ConfigError(f"{where}.benefit: unknown unit(s) {bad}; units: {', '.join(UNITS)} ({WHERE})")
    amounts = {u: _whole(f"{where}.benefit.{u}", v, minimum=1) for u, v in benefit.items()}
    requires = spec.get("requires_any") or []
    if not isinstance(requires, list) or any(u not in UNITS for u in requires):
        raise ConfigError(f"{where}.requires_any must be a list of units ({', '.join(UNITS)}), got {requires!r} "
                          f"({WHERE})")
    quota = spec["quota"]
    if not isinstance(quota, dict) or len(quota) != 1 or next(iter(quota)) not in ("families", "budget_rp"):
        raise ConfigError(f"{where}.quota must be {{families: N}} or {{budget_rp: N}}, got {quota!r} ({WHERE})")
    kind, amount = next(iter(quota.items()))
    amount = _whole(f"{where}.quota.{kind}", amount)
    weight = spec.get("weight", "eligible_persons")
    if weight not in WEIGHTS:
        raise ConfigError(f"{where}.weight is {weight!r}; use one of {', '.join(WEIGHTS)} ({WHERE})")
    max_units = spec.get("max_units")
    complete = spec.get("require_complete_data", True)
    if not isinstance(complete, bool):
        raise ConfigError(f"{where}.require_complete_data must be true or false ({WHERE})")
    return Program(
        program=key, name=str(spec.get("name", key)), priority=_whole(f"{where}.priority", spec["priority"], minimum=1),
        desil_lo=desil[0], desil_hi=desil[1], requires_any=tuple(requires),
        benefit=tuple(sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))),
        max_units=None if max_units is None else _whole(f"{where}.max_units", max_units, minimum=1),
        quota_families=amount if kind == "families" else None, budget_rp=amount if kind == "budget_rp" else None,
        weight=weight, floor_per_regency=_whole(f"{where}.floor_per_regency", spec.get("floor_per_regency", 0)),
        require_complete_data=complete)


def effective_block(conf: Config, cycle: str) -> tuple[str, dict]:
    """(version, merged block) in force for the cycle: the base plus revisions not after it."""
    raw = deepcopy(conf.section("programs"))
    when = parse_cycle(cycle).reference_date
    base_from = parse_cycle(str(raw.get("effective_from", ""))).reference_date
    if when < base_from:
        raise ConfigError(f"programs.effective_from is {raw['effective_from']}: no program catalog for cycle {cycle} "
                          f"({WHERE})")
    revisions = raw.pop("revisions", []) or []
    if not isinstance(revisions, list):
        raise ConfigError(f"programs.revisions must be a list of {{version, effective_from, ...}} ({WHERE})")
    block = raw
    last = base_from
    for i, rev in enumerate(revisions):
        if not isinstance(rev, dict) or "version" not in rev or "effective_from" not in rev:
            raise ConfigError(f"programs.revisions[{i}] needs version and effective_from ({WHERE})")
        start = parse_cycle(str(rev["effective_from"])).reference_date
        if start < last:
            raise ConfigError(f"programs.revisions[{i}] ({rev['version']}) starts before the one above it: keep "
                              f"revisions in effective_from order ({WHERE})")
        last = start
        unknown = sorted(set(rev.get("catalog") or {}) - set(block.get("catalog") or {}))
        if unknown:
            raise ConfigError(f"programs.revisions[{i}] ({rev['version']}) changes unknown program(s) {unknown}: "
                              f"add them to programs.catalog first ({WHERE})")
        if start <= when:
            block = _deep_merge(block, {k: v for k, v in rev.items() if k != "effective_from"})
    version = block.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(f"programs.version must be a non-empty string such as '2026.1' ({WHERE})")
    return version, block


def load_programs(conf: Config, cycle: str, overrides: dict | None = None) -> ProgramSet:
    """The checked catalog for a cycle; overrides (simulate's what-ifs) are merged over programs.catalog."""
    version, block = effective_block(conf, cycle)
    catalog = block.get("catalog")
    if overrides:
        unknown = sorted(set(overrides) - set(catalog or {}))
        if unknown:
            raise ConfigError(f"unknown program(s) {unknown}; the catalog has {', '.join(catalog or {})} ({WHERE})")
        catalog = _deep_merge(catalog, overrides)
    if not isinstance(catalog, dict) or not catalog:
        raise ConfigError(f"programs.catalog is empty: define at least one program ({WHERE})")
    programs = sorted((_program(k, v) for k, v in catalog.items()), key=lambda p: (p.priority, p.program))
    prios = [p.priority for p in programs]
    if len(set(prios)) != len(prios):
        raise ConfigError(f"programs.catalog: priorities must be unique, got {prios} ({WHERE})")
    scale = block.get("scale", "none")
    if scale not in ("registry", "none"):
        raise ConfigError(f"programs.scale is {scale!r}; use registry or none ({WHERE})")
    stacking = block.get("stacking") or {}
    reasons = block.get("exclusion_reasons") or {}
    for rule, text in reasons.items():
        if not isinstance(text, dict) or not {"id", "en"} <= set(text):
            raise ConfigError(f"programs.exclusion_reasons.{rule} needs both id and en texts ({WHERE})")
    line = block.get("poverty_line")
    if isinstance(line, bool) or not isinstance(line, (int, float)) or line <= 0:
        raise ConfigError(f"programs.poverty_line must be a positive number (Rp per capita per month) ({WHERE})")
    return ProgramSet(
        version=version.strip(), cycle=cycle, programs=tuple(programs), scale=scale,
        reference_families=_whole("programs.reference_families", block.get("reference_families", 1), minimum=1),
        max_programs=_whole("programs.stacking.max_programs", stacking.get("max_programs", len(programs)), minimum=1),
        max_benefit_rp=_whole("programs.stacking.max_benefit_rp", stacking.get("max_benefit_rp", 10 ** 15), minimum=1),
        poverty_line=float(line), exclusion_reasons=reasons)
