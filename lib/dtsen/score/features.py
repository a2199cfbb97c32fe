"""The one feature pipeline of welfare scoring: family profiles -> model features.

Training (the labelled sample, collected to pandas) and batch scoring (every family, in Spark) both
call `feature_frame`, so the two cannot drift apart: a feature is defined once, here, as a Spark
column expression over `family_profiles`. Every feature is a double (null = unknown; LightGBM takes
nulls as missing, the OLS baseline fills them with its training means).

Nothing personal goes in: counts, amounts, codes and flags only; the family is known by family_id.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.config import Config, ConfigError

# Columns of the feature frame besides the features (keys, weights and the groups of the fairness checks).
FAMILY_ID, CYCLE, MEMBERS = "family_id", "cycle", "members"
PROVINCE, REGENCY, VILLAGE, URBAN = "province_code", "regency_code", "village_code", "urban_area"
REGION_GROUP, FAMILY_TYPE, DATA_COMPLETE = "region_group", "family_type", "data_complete"
KEYS = (FAMILY_ID, CYCLE, MEMBERS, PROVINCE, REGENCY, VILLAGE, URBAN, REGION_GROUP, FAMILY_TYPE, DATA_COMPLETE)

STATE_SECTORS = ("ASN", "TNI", "POLRI", "BUMN", "BUMD")
SURVEY_CODES = ("house_ownership", "floor_type", "wall_type", "roof_type", "water_source", "toilet_facility",
                "toilet_type", "sewage", "lighting_source", "electricity_class", "cooking_fuel", "has_gas_cylinder",
                "has_fridge", "has_ac", "has_water_heater", "has_landline", "has_tv", "has_gold", "has_computer",
                "has_bicycle", "motorcycles", "cars", "has_boat", "has_land", "has_other_house", "cattle", "goats",
                "poultry", "members_working", "children_in_school", "owns_business", "has_bank_account",
                "has_internet")


def _c(name: str) -> Column:
    return F.col(name).cast("double")


def _ln1p(name: str) -> Column:
    return F.log1p(F.greatest(F.coalesce(_c(name), F.lit(0.0)), F.lit(0.0)))


def _per_member(name: str) -> Column:
    return F.coalesce(_c(name), F.lit(0.0)) / _c("members")


def _flag(cond: Column) -> Column:
    return F.when(cond, 1.0).otherwise(0.0)


def _children_7_18() -> Column:
    return F.col("children_7_12") + F.col("children_13_15") + F.col("children_16_18")


def _has_car() -> Column:
    return F.col("cars") > 0


# name -> expression over a family_profiles row (+ `urban_area` from the village reference).
FEATURES: dict[str, Callable[[], Column]] = {
    # composition
    "log_members": lambda: F.log(_c("members")),
    "children_0_6": lambda: _c("children_0_6"),
    "children_7_18": lambda: _children_7_18().cast("double"),
    "not_enrolled_7_18": lambda: (_children_7_18() - F.col("enrolled_7_12") - F.col("enrolled_13_15")
                                  - F.col("enrolled_16_18")).cast("double"),
    "elderly_60_plus": lambda: _c("elderly_60_plus"),
    "severe_disability": lambda: _c("severe_disability"),
    "dependency_ratio": lambda: (F.col("children_0_6") + F.col("children_7_12") + F.col("children_13_15")
                                 + F.col("elderly_60_plus")).cast("double") / _c("members"),
    # the head of family
    "head_age": lambda: _c("head_age"),
    "head_female": lambda: F.when(F.col("head_sex").isNull(), None).otherwise(_flag(F.col("head_sex") == "F")),
    "head_education": lambda: _c("head_education"),
    "head_formal": lambda: F.when(F.col("head_formal").isNull(), None).otherwise(_flag(F.col("head_formal"))),
    "head_state_job": lambda: _flag(F.coalesce(F.col("head_sector").isin(*STATE_SECTORS), F.lit(False))),
    # income (BPJS Ketenagakerjaan wages, DJP returns)
    "formal_workers": lambda: _c("formal_workers"),
    "formal_wage_pc": lambda: _per_member("formal_wage_month"),
    "log_formal_wage_pc": lambda: F.log1p(_per_member("formal_wage_month")),
    "taxpayers": lambda: _c("taxpayers"),
    "taxable_income_year": lambda: _c("taxable_income_year"),
    "log_taxable_income": lambda: _ln1p("taxable_income_year"),
    "tax_due_year": lambda: _c("tax_due_year"),
    # vehicles (Samsat)
    "cars": lambda: _c("cars"),
    "motorcycles": lambda: _c("motorcycles"),
    "car_max_cc": lambda: F.when(_has_car(), _c("car_max_cc")).otherwise(0.0),
    "car_max_value": lambda: F.when(_has_car(), _c("car_max_value")).otherwise(0.0),
    "car_newest_age_years": lambda: F.when(_has_car(), _c("car_newest_age_years")),
    "vehicles_value": lambda: _c("vehicles_value"),
    "log_vehicles_value": lambda: _ln1p("vehicles_value"),
    # electricity (PLN): null without a connection
    "pln_capacity_va": lambda: F.when(F.col("pln_connections") > 0, _c("pln_capacity_va")),
    "pln_kwh_month": lambda: F.when(F.col("pln_connections") > 0, _c("pln_kwh_month")),
    # health coverage (BPJS Kesehatan)
    "health_pbi_share": lambda: _per_member("health_pbi"),
    "health_paid_class_1": lambda: _c("health_paid_class_1"),
    "health_uncovered_share": lambda: _per_member("health_uncovered"),
    # the socio-economic survey (Regsosek): null when the family was not interviewed
    "survey_missing": lambda: _flag(F.col("survey_record_key").isNull()),
    "survey_floor_area_pc": lambda: _c("survey_floor_area_m2") / _c("members"),
    **{f"survey_{name}": (lambda n=name: _c(f"survey_{n}")) for name in SURVEY_CODES},
    # region
    "urban": lambda: F.when(F.col(URBAN).isNull(), None).otherwise(_flag(F.col(URBAN))),
    "province": lambda: _c("province_code"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


@dataclass(frozen=True)
class FeatureParams:
    region_groups: dict[str, str]

    @classmethod
    def from_conf(cls, conf: Config) -> FeatureParams:
        groups = conf.get("score.region_groups")
        if not isinstance(groups, dict) or not groups:
            raise ConfigError("score.region_groups must map a province code's first digit to a group name")
        return cls({str(k): str(v) for k, v in groups.items()})


def model_features(conf: Config, model: str) -> list[str]:
    """The features a model uses (score.models.<model>.features: a list or 'all'), checked against
    the vocabulary."""
    chosen = conf.get(f"score.models.{model}.features")
    if chosen == "all":
        return list(FEATURE_NAMES)
    if not isinstance(chosen, list) or not chosen:
        raise ConfigError(f"score.models.{model}.features must be 'all' or a list of feature names")
    unknown = [f for f in chosen if f not in FEATURES]
    if unknown:
        raise ConfigError(f"score.models.{model}.features: unknown feature(s) {unknown}; the vocabulary is "
                          f"lib/dtsen/score/features.py FEATURES")
    return list(chosen)


def urban_villages(spark: SparkSession) -> DataFrame:
    """(village_code, urban_area): the BPS-style urban flag of every village (Kemendagri list)."""
    from dtsen.regions import villages

    v = villages()[["village_code", "is_urban"]].rename(columns={"is_urban": URBAN})
    return spark.createDataFrame(v, "village_code string, urban_area boolean")


def family_type(members: Column, children: Column, elderly: Column) -> Column:
    """single / couple (two adults) / with_children / elderly (60+ and no child) / adults: the household
    types the fairness checks compare (children: 0-18)."""
    return (F.when(members == 1, "single")
            .when(children > 0, "with_children")
            .when(elderly > 0, "elderly")
            .when(members == 2, "couple")
            .otherwise("adults"))


def feature_frame(profiles: DataFrame, urban: DataFrame, params: FeatureParams) -> DataFrame:
    """family_profiles rows -> KEYS + FEATURE_NAMES (one row per profile row)."""
    first_digit = F.substring("province_code", 1, 1)
    group = F.lit(None).cast("string")
    for digit, name in sorted(params.region_groups.items(), reverse=True):
        group = F.when(first_digit == digit, F.lit(name)).otherwise(group)
    p = profiles.join(F.broadcast(urban), "village_code", "left")
    children = F.col("children_0_6") + _children_7_18()
    return p.select(
        F.col(FAMILY_ID), F.col(CYCLE), F.col("members").cast("int").alias(MEMBERS), F.col(PROVINCE),
        F.col(REGENCY), F.col(VILLAGE), F.col(URBAN), F.coalesce(group, F.lit("other")).alias(REGION_GROUP),
        family_type(F.col("members"), children, F.col("elderly_60_plus")).alias(FAMILY_TYPE),
        F.col(DATA_COMPLETE),
        *[expr().cast("double").alias(name) for name, expr in FEATURES.items()])
