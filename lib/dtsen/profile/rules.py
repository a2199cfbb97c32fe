"""Inconsistency rules: configuration (conf/base/profile.yml) over a fixed vocabulary of measures.

The profile step turns agency records into *measures* (`measures()`): one row per observed value,
with the record it came from. A rule names the measures it reads, how it compares them (at_least,
at_most, one_of, above_ump) and its outcome. A rule fires for a family when any of its measures
reaches the threshold; the flag keeps the strongest piece of evidence (source, record, value,
threshold) and how many records reached the threshold. Thresholds and outcomes live in conf, so a
directorate changes policy by changing YAML and bumping `profile.version`, never code.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dtsen.config import Config, ConfigError
from dtsen.cycles import parse_cycle

OUTCOMES = ("exclude", "review")
KINDS = ("at_least", "at_most", "one_of", "above_ump")

# Measures the profile step produces: name -> (agency source, numeric?, what it is).
MEASURES: dict[str, tuple[str, bool, str]] = {
    "employer_sector": ("bpjs_ketenagakerjaan", False, "employer sector of an active formal job"),
    "occupation": ("dukcapil", False, "occupation in the civil registry"),
    "monthly_wage": ("bpjs_ketenagakerjaan", True, "reported monthly wage of an active job, Rp"),
    "tax_due": ("djp", True, "income tax due in the latest return, Rp a year"),
    "net_income": ("djp", True, "net income in the latest return, Rp a year"),
    "car_count": ("samsat", True, "passenger cars registered to the family"),
    "car_value": ("samsat", True, "sale value of a passenger car, Rp"),
    "car_engine_cc": ("samsat", True, "engine size of a passenger car, cc"),
    "car_age_years": ("samsat", True, "cycle year minus the car's build year"),
    "cars_undeclared": ("samsat+regsosek", True, "cars registered minus cars declared in the survey"),
    "floor_area_m2": ("regsosek", True, "declared floor area of the house, m2"),
    "capacity_va": ("pln", True, "PLN connection capacity, VA"),
}

# Columns of a measures frame (see `measures` in build.py) and of the flags table.
MEASURE_COLUMNS = ["family_id", "resident_id", "source", "record_key", "measure", "value_num", "value_str",
                   "province_code"]
FLAG_COLUMNS = ["cycle", "family_id", "rule_id", "rule_version", "outcome", "priority", "evidence_measure",
                "evidence_source", "evidence_record_key", "evidence_resident_id", "evidence_value",
                "evidence_threshold", "evidence_records"]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    measures: tuple[str, ...]
    outcome: str
    priority: int
    threshold: float | None = None
    values: tuple[str, ...] = ()
    ump_multiple: float = 1.0


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]
    ump: dict[str, dict[str, float]]     # year -> province code -> Rp per month

    def ump_for(self, cycle: str) -> tuple[str, dict[str, float]]:
        """The UMP table of the latest year not after the cycle's year."""
        year = parse_cycle(cycle).year
        years = sorted(int(y) for y in self.ump if int(y) <= year)
        if not years:
            raise ConfigError(f"profile.ump has no year at or before {year} (cycle {cycle}): add the UMP table "
                              f"for {year} to conf/base/profile.yml")
        return str(years[-1]), self.ump[str(years[-1])]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)


def _number(where: str, value, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number, got {value!r} (conf/base/profile.yml)")
    if positive and value <= 0:
        raise ConfigError(f"{where} must be positive, got {value} (conf/base/profile.yml)")
    return float(value)


def load_rules(conf: Config) -> RuleSet:
    """Read and check profile.version / profile.rules / profile.ump; every mistake is a ConfigError
    naming the key to fix."""
    version = conf.get("profile.version")
    if not isinstance(version, str) or not version.strip():
        raise ConfigError("profile.version must be a non-empty string such as '2026.1' (conf/base/profile.yml)")
    raw = conf.section("profile.rules")
    if not raw:
        raise ConfigError("profile.rules is empty: define at least one rule (conf/base/profile.yml)")
    rules = []
    for rule_id, spec in raw.items():
        where = f"profile.rules.{rule_id}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a mapping with kind, measures, outcome")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}.kind is {kind!r}; use one of {', '.join(KINDS)}")
        measures = spec.get("measures")
        if not isinstance(measures, list) or not measures:
            raise ConfigError(f"{where}.measures must be a non-empty list of measures")
        unknown = [m for m in measures if m not in MEASURES]
        if unknown:
            raise ConfigError(f"{where}.measures: unknown {unknown}; known measures: {', '.join(MEASURES)}")
        numeric = {m: MEASURES[m][1] for m in measures}
        outcome = spec.get("outcome")
        if outcome not in OUTCOMES:
            raise ConfigError(f"{where}.outcome is {outcome!r}; use one of {', '.join(OUTCOMES)}")
        priority = spec.get("priority", 1)
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            raise ConfigError(f"{where}.priority must be a whole number >= 0, got {priority!r}")
        threshold, values, multiple = None, (), 1.0
        if kind in ("at_least", "at_most"):
            if "threshold" not in spec:
                raise ConfigError(f"{where} ({kind}) needs a threshold")
            threshold = _number(f"{where}.threshold", spec["threshold"], positive=False)
            if not all(numeric.values()):
                raise ConfigError(f"{where}: {kind} compares numbers, but {[m for m, n in numeric.items() if not n]} "
                                  f"are text measures")
        elif kind == "one_of":
            vals = spec.get("values")
            if not isinstance(vals, list) or not vals:
                raise ConfigError(f"{where} (one_of) needs a non-empty list of values")
            values = tuple(str(v) for v in vals)
        else:
            if measures != ["monthly_wage"]:
                raise ConfigError(f"{where} (above_ump) reads the monthly wage: set measures: [monthly_wage]")
            multiple = _number(f"{where}.ump_multiple", spec.get("ump_multiple", 1.0))
        rules.append(Rule(rule_id, kind, tuple(measures), outcome, priority, threshold, values, multiple))
    ump_raw = conf.section("profile.ump")
    ump: dict[str, dict[str, float]] = {}
    for year, table in ump_raw.items():
        if not str(year).isdigit() or not isinstance(table, dict) or not table:
            raise ConfigError(f"profile.ump.{year}: expected a year (e.g. '2025') mapping province codes to Rp")
        ump[str(year)] = {str(p): _number(f"profile.ump.{year}.{p}", v) for p, v in table.items()}
    return RuleSet(version.strip(), tuple(rules), ump)


def _fmt(x: Column) -> Column:
    """A number as evidence text: whole numbers without a decimal point."""
    return F.when(x == F.floor(x), x.cast("long").cast("string")).otherwise(x.cast("string"))


def rule_table(spark: SparkSession, ruleset: RuleSet, *, cycle: str) -> DataFrame:
    """One row per (rule, measure[, province]) with the threshold that applies: the rules as data, so
    every rule is evaluated in one join and one window instead of one pass each."""
    rows = []
    for r in ruleset.rules:
        for m in r.measures:
            base = (r.rule_id, m, r.kind, r.outcome, r.priority, list(r.values))
            if r.kind == "above_ump":
                _, table = ruleset.ump_for(cycle)
                rows += [(*base, p, v * r.ump_multiple) for p, v in sorted(table.items())]
            else:
                rows.append((*base, None, r.threshold))
    return spark.createDataFrame(rows, "rule_id string, measure string, kind string, outcome string, priority int, "
                                       "values array<string>, rule_province string, threshold double")


def _check_ump(measures: DataFrame, ruleset: RuleSet, cycle: str) -> None:
    """A family in a province the UMP table lacks would silently escape the wage rule: stop instead."""
    wage_measures = {m for r in ruleset.rules if r.kind == "above_ump" for m in r.measures}
    if not wage_measures:
        return
    year, table = ruleset.ump_for(cycle)
    provinces = [row["province_code"] for row in measures.where(F.col("measure").isin(*wage_measures))
                 .select("province_code").distinct().collect()]
    missing = sorted(str(p) for p in provinces if p not in table)
    if missing:
        raise ConfigError(f"profile.ump.{year} has no UMP for province(s) {', '.join(missing)}: add them to "
                          "conf/base/profile.yml")


def evaluate(spark: SparkSession, measures: DataFrame, ruleset: RuleSet, *, cycle: str) -> DataFrame:
    """Flags (FLAG_COLUMNS): one row per family and fired rule, with its strongest evidence and the
    number of records that reached the threshold.

    Raises ConfigError when a family with a wage lives in a province the UMP table does not cover."""
    _check_ump(measures, ruleset, cycle)
    rt = rule_table(spark, ruleset, cycle=cycle)
    m = measures.join(F.broadcast(rt), (measures["measure"] == rt["measure"])
                      & (rt["rule_province"].isNull() | (rt["rule_province"] == measures["province_code"])))
    m = m.drop(rt["measure"])
    kind, value, thr = F.col("kind"), F.col("value_num"), F.col("threshold")
    hit = (F.when(kind.isin("at_least", "above_ump"), value >= thr).when(kind == "at_most", value <= thr)
           .otherwise(F.array_contains(F.col("values"), F.col("value_str"))))
    strength = (F.when(kind == "at_least", value).when(kind == "at_most", -value)
                .when(kind == "above_ump", value / thr).otherwise(F.lit(0.0)))
    per = Window.partitionBy("family_id", "rule_id")
    w = per.orderBy(F.desc("_strength"), "source", "record_key", "measure")
    ranked = (m.where(F.coalesce(hit, F.lit(False))).withColumn("_strength", strength)
              .withColumn("_n", F.count(F.lit(1)).over(per)).withColumn("_r", F.row_number().over(w))
              .where(F.col("_r") == 1))
    threshold_text = F.when(kind == "one_of", F.array_join(F.col("values"), ",")).otherwise(_fmt(thr))
    return ranked.select(
        F.lit(cycle).alias("cycle"), "family_id", "rule_id", F.lit(ruleset.version).alias("rule_version"),
        "outcome", "priority", F.col("measure").alias("evidence_measure"), F.col("source").alias("evidence_source"),
        F.col("record_key").alias("evidence_record_key"), F.col("resident_id").alias("evidence_resident_id"),
        F.coalesce(F.col("value_str"), _fmt(value)).alias("evidence_value"),
        threshold_text.alias("evidence_threshold"), F.col("_n").cast("int").alias("evidence_records"))
