"""Family welfare profiles: pure transforms from linked agency records to one row per family.

Inputs are the golden residents and each agency's silver records with the resident_id / family_id
the resolve stage linked them to (`Inputs`; the job builds it, tests build it by hand). Nothing here
reads tables, names or raw NIKs: identities are resident ids and tokens only.

A profile row holds composition (PKH components: children by school age and their enrolment,
elderly, severe disability, pregnancy), the head of family, income signals, vehicles, electricity,
health coverage, the survey's housing and asset answers, which agencies contributed each part, and
explicit completeness markers.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from dtsen.columns import labels_where
from dtsen.config import Config, ConfigError

# What each input must hold (the job casts silver columns to these types; tests build frames with them).
_LINKED = "family_id string, resident_id string, record_key string, source string"
INPUT_SCHEMAS: dict[str, str] = {
    "residents": "resident_id string, family_id string, primary_record_key string, sex string, age int, "
                 "relationship string, education string, occupation string, village_code string",
    "employment": f"{_LINKED}, employer_sector string, monthly_wage long, active string",
    "tax": f"{_LINKED}, tax_year long, net_income long, tax_due long",
    "vehicle": f"{_LINKED}, vehicle_type string, engine_cc long, build_year long, sale_value long",
    "electricity": f"{_LINKED}, capacity_va long, kwh_month double",
    "health": f"{_LINKED}, segment string, care_class long, active string",
    "education": f"{_LINKED}, school_level string, active string",
    "survey": f"{_LINKED}, interviewed_on date",     # + the configured survey columns, as long
}
# The agency each input comes from (the `source` of its silver records and links).
INPUT_SOURCES = {"employment": "bpjs_ketenagakerjaan", "tax": "djp", "vehicle": "samsat", "electricity": "pln",
                 "health": "bpjs_kesehatan", "education": "dapodik", "survey": "regsosek"}
# Parts whose absence the profile marks explicitly (profile.completeness.key_parts picks the key ones).
PARTS = ("head", "survey", "electricity", "health_coverage")
PBI_SEGMENTS = ("PBI", "PBI_DAERAH")
# Survey answers the profile always reads (composition and the rules), whatever else conf carries.
REQUIRED_SURVEY = ("members_severely_disabled", "members_pregnant", "floor_area_m2", "cars")


def input_schema(name: str, survey_columns: list[str] | tuple[str, ...] = ()) -> StructType:
    ddl = INPUT_SCHEMAS[name]
    if name == "survey" and survey_columns:
        ddl += ", " + ", ".join(f"{c} long" for c in survey_columns)
    return StructType.fromDDL(ddl)


@dataclass
class Inputs:
    """One cycle's linked records (see INPUT_SCHEMAS)."""

    residents: DataFrame
    employment: DataFrame
    tax: DataFrame
    vehicle: DataFrame
    electricity: DataFrame
    health: DataFrame
    education: DataFrame
    survey: DataFrame

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Params:
    survey_columns: tuple[str, ...]
    formal_occupations: tuple[str, ...]
    key_parts: tuple[str, ...]
    min_relative_change: float

    @classmethod
    def from_conf(cls, conf: Config) -> Params:
        cols = conf.get("profile.survey_columns")
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise ConfigError("profile.survey_columns must be a list of silver_survey column names")
        formal = conf.get("profile.formal_occupations")
        if not isinstance(formal, list):
            raise ConfigError("profile.formal_occupations must be a list of registry occupation codes")
        key = conf.get("profile.completeness.key_parts")
        if not isinstance(key, list) or any(p not in PARTS for p in key):
            raise ConfigError(f"profile.completeness.key_parts must be a list drawn from {', '.join(PARTS)}; "
                              f"got {key!r}")
        tol = conf.get("profile.changes.min_relative_change")
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
            raise ConfigError(f"profile.changes.min_relative_change must be a share in [0, 1), got {tol!r}")
        cols = list(dict.fromkeys([*cols, *REQUIRED_SURVEY]))
        return cls(tuple(cols), tuple(str(x) for x in formal), tuple(key), float(tol))


def _active(df: DataFrame) -> DataFrame:
    """Records the agency marks inactive (a job ended, a lapsed membership) are history, not now."""
    return df.where(F.coalesce(F.col("active"), F.lit("true")) != "false")


def _sources(*pairs: tuple[Column, str]) -> Column:
    """The agencies that contributed a part: array of names whose condition holds, in the given order."""
    return labels_where(pairs)


def family_regions(residents: DataFrame) -> DataFrame:
    """(family_id, village_code, regency_code, province_code): the head's village; without a head the
    smallest village code of the members (deterministic)."""
    w = Window.partitionBy("family_id").orderBy(
        F.when(F.col("relationship") == "head", 0).otherwise(1), F.col("village_code").asc_nulls_last(),
        "resident_id")
    return (residents.where(F.col("family_id").isNotNull())
            .withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1)
            .select("family_id", "village_code", F.substring("village_code", 1, 4).alias("regency_code"),
                    F.substring("village_code", 1, 2).alias("province_code")))


def one_survey(survey: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """One interview per family (the latest; ties by record key), columns prefixed survey_."""
    w = Window.partitionBy("family_id").orderBy(F.col("interviewed_on").desc_nulls_last(), "record_key")
    return (survey.where(F.col("family_id").isNotNull()).withColumn("_r", F.row_number().over(w))
            .where(F.col("_r") == 1)
            .select("family_id", F.col("record_key").alias("survey_record_key"),
                    F.col("interviewed_on").alias("survey_interviewed_on"),
                    *[F.col(c).cast("long").alias(f"survey_{c}") for c in columns]))


def composition(residents: DataFrame, education: DataFrame, survey: DataFrame) -> DataFrame:
    """Members and the PKH components. Enrolment from Dapodik; severe disability and pregnancy only
    the survey reports (a family never interviewed has them null: unknown, not zero)."""
    enrolled = (_active(education).where(F.col("resident_id").isNotNull()).select("resident_id").distinct()
                .withColumn("_enrolled", F.lit(True)))
    m = residents.where(F.col("family_id").isNotNull()).join(enrolled, "resident_id", "left")
    age, enr = F.col("age"), F.col("_enrolled").isNotNull()

    def n(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0)).cast("int")

    comp = m.groupBy("family_id").agg(
        F.count("*").cast("int").alias("members"),
        F.sort_array(F.collect_list("resident_id")).alias("member_ids"),
        n(age.between(0, 6)).alias("children_0_6"),
        n(age.between(7, 12)).alias("children_7_12"), n(age.between(7, 12) & enr).alias("enrolled_7_12"),
        n(age.between(13, 15)).alias("children_13_15"), n(age.between(13, 15) & enr).alias("enrolled_13_15"),
        n(age.between(16, 18)).alias("children_16_18"), n(age.between(16, 18) & enr).alias("enrolled_16_18"),
        n(age >= 60).alias("elderly_60_plus"), n(age >= 70).alias("elderly_70_plus"),
        n(enr).alias("_enrolled_any"))
    told = survey.select("family_id",
                         F.col("survey_members_severely_disabled").cast("int").alias("severe_disability"),
                         F.col("survey_members_pregnant").cast("int").alias("pregnant_members"))
    return (comp.join(told, "family_id", "left")
            .withColumn("sources_composition", _sources(
                (F.lit(True), "dukcapil"), (F.col("_enrolled_any") > 0, "dapodik"),
                (F.col("severe_disability").isNotNull() | F.col("pregnant_members").isNotNull(), "regsosek")))
            .drop("_enrolled_any"))


def head(residents: DataFrame, employment: DataFrame, formal_occupations: tuple[str, ...]) -> DataFrame:
    """The head of family (registry relationship 'head'; two heads after a merge: the elder, then the
    smaller id) with the sector of the head's best-paid active job, else the registry occupation."""
    w = Window.partitionBy("family_id").orderBy(F.col("age").desc_nulls_last(), "resident_id")
    h = (residents.where((F.col("relationship") == "head") & F.col("family_id").isNotNull())
         .withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1))
    wj = Window.partitionBy("resident_id").orderBy(F.col("monthly_wage").desc_nulls_last(), "record_key")
    job = (_active(employment).where(F.col("resident_id").isNotNull())
           .withColumn("_r", F.row_number().over(wj)).where(F.col("_r") == 1)
           .select("resident_id", F.col("employer_sector").alias("_sector")))
    h = h.join(job, "resident_id", "left")
    return h.select(
        "family_id", F.col("resident_id").alias("head_resident_id"), F.col("age").alias("head_age"),
        F.col("sex").alias("head_sex"), F.col("education").cast("int").alias("head_education"),
        F.col("occupation").alias("head_occupation"),
        F.coalesce("_sector", "occupation").alias("head_sector"),
        (F.col("_sector").isNotNull() | F.coalesce(F.col("occupation").isin(*formal_occupations), F.lit(False)))
        .alias("head_formal"),
        F.when(F.col("_sector").isNotNull(), F.lit("bpjs_ketenagakerjaan"))
        .when(F.col("occupation").isNotNull(), F.lit("dukcapil")).alias("head_sector_source"))


def latest_returns(tax: DataFrame) -> DataFrame:
    """Each taxpayer's latest return (tax year, then record key)."""
    w = Window.partitionBy("resident_id").orderBy(F.col("tax_year").desc_nulls_last(), "record_key")
    return tax.where(F.col("resident_id").isNotNull()).withColumn("_r", F.row_number().over(w)).where(
        F.col("_r") == 1).drop("_r")


def income(employment: DataFrame, tax: DataFrame) -> DataFrame:
    """Formal wages (BPJS Ketenagakerjaan, active jobs, Rp a month) and the latest tax returns (DJP,
    Rp a year), summed over the family."""
    wages = _active(employment).where(F.col("family_id").isNotNull()).groupBy("family_id").agg(
        F.countDistinct("resident_id").cast("int").alias("formal_workers"),
        F.sum("monthly_wage").alias("formal_wage_month"), F.max("monthly_wage").alias("formal_wage_max"))
    taxes = latest_returns(tax).where(F.col("family_id").isNotNull()).groupBy("family_id").agg(
        F.count("*").cast("int").alias("taxpayers"), F.max("tax_year").alias("tax_year"),
        F.sum("net_income").alias("taxable_income_year"), F.sum("tax_due").alias("tax_due_year"))
    return wages.join(taxes, "family_id", "full")


def assets(vehicle: DataFrame, cycle_year: int) -> DataFrame:
    """Vehicles by type (Samsat), with engine size, age and estimated value of the cars."""
    v = vehicle.where(F.col("family_id").isNotNull()).withColumn("_age", F.lit(cycle_year) - F.col("build_year"))
    car = F.col("vehicle_type") == "CAR"
    return v.groupBy("family_id").agg(
        F.sum(car.cast("int")).cast("int").alias("cars"),
        F.sum((F.col("vehicle_type") == "MOTORCYCLE").cast("int")).cast("int").alias("motorcycles"),
        F.sum(F.col("vehicle_type").isin("TRUCK", "BUS").cast("int")).cast("int").alias("trucks_buses"),
        F.max(F.when(car, F.col("engine_cc"))).alias("car_max_cc"),
        F.min(F.when(car, F.col("_age"))).alias("car_newest_age_years"),
        F.max(F.when(car, F.col("sale_value"))).alias("car_max_value"),
        F.sum("sale_value").alias("vehicles_value"))


def electricity(pln: DataFrame) -> DataFrame:
    return pln.where(F.col("family_id").isNotNull()).groupBy("family_id").agg(
        F.count("*").cast("int").alias("pln_connections"), F.max("capacity_va").alias("pln_capacity_va"),
        F.round(F.sum("kwh_month"), 1).alias("pln_kwh_month"))


def health(health_records: DataFrame) -> DataFrame:
    """JKN coverage per member: PBI (premium paid by the state), paid by care class; members without
    an active membership count as uncovered (composition subtracts)."""
    w = Window.partitionBy("resident_id").orderBy(
        F.when(F.col("segment").isin(*PBI_SEGMENTS), 0).otherwise(1), F.col("care_class").asc_nulls_last(),
        "record_key")
    one = (_active(health_records).where(F.col("resident_id").isNotNull() & F.col("family_id").isNotNull())
           .withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1))
    pbi = F.col("segment").isin(*PBI_SEGMENTS)

    def n(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0)).cast("int")

    return one.groupBy("family_id").agg(
        n(F.lit(True)).alias("health_covered"), n(pbi).alias("health_pbi"),
        n(~pbi & (F.col("care_class") == 1)).alias("health_paid_class_1"),
        n(~pbi & (F.col("care_class") == 2)).alias("health_paid_class_2"),
        n(~pbi & (F.col("care_class") == 3)).alias("health_paid_class_3"))


def family_profiles(inp: Inputs, params: Params, *, cycle: str, cycle_year: int) -> DataFrame:
    """One row per family_id of the cycle's residents (families without residents have no profile)."""
    survey = one_survey(inp.survey, params.survey_columns)
    comp = composition(inp.residents, inp.education, survey)
    zero = F.lit(0)
    p = (family_regions(inp.residents).join(comp, "family_id")
         .join(head(inp.residents, inp.employment, params.formal_occupations), "family_id", "left")
         .join(income(inp.employment, inp.tax), "family_id", "left")
         .join(assets(inp.vehicle, cycle_year), "family_id", "left")
         .join(electricity(inp.electricity), "family_id", "left")
         .join(health(inp.health), "family_id", "left")
         .join(survey, "family_id", "left"))
    counts = ("formal_workers", "taxpayers", "cars", "motorcycles", "trucks_buses", "pln_connections",
              "health_covered", "health_pbi", "health_paid_class_1", "health_paid_class_2", "health_paid_class_3")
    amounts = ("formal_wage_month", "taxable_income_year", "tax_due_year", "vehicles_value")
    # one projection per step (a long withColumn chain makes Spark re-analyse the plan each time)
    p = p.withColumns({**{c: F.coalesce(F.col(c), zero).cast("int") for c in counts},
                       **{c: F.coalesce(F.col(c), zero).cast("long") for c in amounts}})
    c = F.col
    missing = {"head": c("head_resident_id").isNull(), "survey": c("survey_record_key").isNull(),
               "electricity": c("pln_connections") == 0, "health_coverage": c("health_covered") == 0}
    p = p.withColumns({
        "health_uncovered": F.greatest(c("members") - c("health_covered"), zero).cast("int"),
        "sources_head": _sources((c("head_resident_id").isNotNull(), "dukcapil"),
                                 (c("head_sector_source") == "bpjs_ketenagakerjaan", "bpjs_ketenagakerjaan")),
        "sources_income": _sources((c("formal_workers") > 0, "bpjs_ketenagakerjaan"), (c("taxpayers") > 0, "djp")),
        "sources_assets": _sources((c("cars") + c("motorcycles") + c("trucks_buses") > 0, "samsat"),
                                   (c("survey_record_key").isNotNull(), "regsosek")),
        "sources_electricity": _sources((c("pln_connections") > 0, "pln")),
        "sources_health": _sources((c("health_covered") > 0, "bpjs_kesehatan")),
        "sources_housing": _sources((c("survey_record_key").isNotNull(), "regsosek")),
        **{f"missing_{part}": cond for part, cond in missing.items()},
        "missing_data": _sources(*[(missing[x], x) for x in PARTS]),
        "missing_key_data": _sources(*[(missing[x], x) for x in params.key_parts]),
        "cycle": F.lit(cycle)})
    return p.withColumn("data_complete", F.size("missing_key_data") == 0)


def measures(inp: Inputs, profiles: DataFrame, *, cycle_year: int) -> DataFrame:
    """The values the inconsistency rules read (rules.MEASURES), one row per observation, each with
    the record it came from and the family's province (for the UMP)."""
    def rows(df: DataFrame, measure: str, num: Column | None, text: Column | None = None) -> DataFrame:
        return df.where(F.col("family_id").isNotNull()).select(
            "family_id", "resident_id", "source", "record_key", F.lit(measure).alias("measure"),
            (num if num is not None else F.lit(None)).cast("double").alias("value_num"),
            (text if text is not None else F.lit(None)).cast("string").alias("value_str"))

    jobs = _active(inp.employment)
    cars = inp.vehicle.where(F.col("vehicle_type") == "CAR")
    ret = latest_returns(inp.tax)
    registry = inp.residents.select("family_id", "resident_id", F.lit("dukcapil").alias("source"),
                                    F.col("primary_record_key").alias("record_key"), "occupation")
    family_level = profiles.select(
        "family_id", F.lit(None).cast("string").alias("resident_id"), F.lit("samsat").alias("source"),
        F.lit(None).cast("string").alias("record_key"), "cars", "survey_cars", "survey_record_key",
        "survey_floor_area_m2")
    survey = profiles.where(F.col("survey_floor_area_m2").isNotNull()).select(
        "family_id", F.lit(None).cast("string").alias("resident_id"), F.lit("regsosek").alias("source"),
        F.col("survey_record_key").alias("record_key"), "survey_floor_area_m2")
    parts = [
        rows(jobs.where(F.col("employer_sector").isNotNull()), "employer_sector", None, F.col("employer_sector")),
        rows(registry.where(F.col("occupation").isNotNull()), "occupation", None, F.col("occupation")),
        rows(jobs.where(F.col("monthly_wage").isNotNull()), "monthly_wage", F.col("monthly_wage")),
        rows(ret.where(F.col("tax_due").isNotNull()), "tax_due", F.col("tax_due")),
        rows(ret.where(F.col("net_income").isNotNull()), "net_income", F.col("net_income")),
        rows(cars.where(F.col("sale_value").isNotNull()), "car_value", F.col("sale_value")),
        rows(cars.where(F.col("engine_cc").isNotNull()), "car_engine_cc", F.col("engine_cc")),
        rows(cars.where(F.col("build_year").isNotNull()), "car_age_years", F.lit(cycle_year) - F.col("build_year")),
        rows(family_level.where(F.col("cars") > 0), "car_count", F.col("cars")),
        rows(family_level.where(F.col("survey_record_key").isNotNull() & (F.col("cars") > 0))
             .withColumn("source", F.lit("samsat+regsosek")),
             "cars_undeclared", F.col("cars") - F.coalesce(F.col("survey_cars"), F.lit(0))),
        rows(survey, "floor_area_m2", F.col("survey_floor_area_m2")),
        rows(inp.electricity.where(F.col("capacity_va").isNotNull()), "capacity_va", F.col("capacity_va")),
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    regions = profiles.select("family_id", "province_code")
    return out.join(regions, "family_id")
