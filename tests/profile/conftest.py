"""Hand-built families for the profile transforms: tiny frames with the inputs' own schemas."""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import pytest

from dtsen.profile import build, review, rules

H1, H2 = "2026H1", "2026H2"
VILLAGE = "3201011001"          # Jawa Barat (province 32)


def resident(fid: str, rid: str, age: int, relationship: str = "child", *, sex: str = "M",
             occupation: str | None = "NONE", education: str = "1", village: str = VILLAGE) -> dict:
    return {"resident_id": rid, "family_id": fid, "primary_record_key": f"dk-{rid}", "sex": sex, "age": age,
            "relationship": relationship, "education": education, "occupation": occupation,
            "village_code": village}


def plain_family(fid: str, *, village: str = VILLAGE, head_occupation: str = "PERTANIAN") -> list[dict]:
    """Head 40, spouse 38, one child of 10: nothing about them reaches any rule."""
    return [resident(fid, f"{fid}-h", 40, "head", occupation=head_occupation, village=village),
            resident(fid, f"{fid}-s", 38, "spouse", sex="F", occupation="HOMEMAKER", village=village),
            resident(fid, f"{fid}-c", 10, village=village)]


def survey_row(fid: str, **answers) -> dict:
    """A modest household's answers (small house, no car), overridable."""
    row = {"family_id": fid, "resident_id": f"{fid}-h", "record_key": f"sv-{fid}", "floor_area_m2": 36,
           "cars": 0, "motorcycles": 1, "members_severely_disabled": 0, "members_pregnant": 0,
           "members": 3}
    row.update(answers)
    return row


def car(fid: str, n: int = 0, **attrs) -> dict:
    row = {"family_id": fid, "resident_id": f"{fid}-h", "record_key": f"car-{fid}-{n}", "vehicle_type": "CAR",
           "engine_cc": 1300, "build_year": 2010, "sale_value": 60_000_000}
    row.update(attrs)
    return row


def make_inputs(spark, params: build.Params, **tables: list[dict]) -> build.Inputs:
    """Inputs with the given rows (missing columns null, record keys and sources filled in); any
    input not given is empty."""
    frames = {}
    for name in build.Inputs.names():
        schema = build.input_schema(name, params.survey_columns if name == "survey" else ())
        rows = []
        for i, given in enumerate(tables.get(name, [])):
            row = {f.name: given.get(f.name) for f in schema.fields}
            if "record_key" in row and row["record_key"] is None:
                row["record_key"] = f"{name}-{i}"
            if "source" in row and row["source"] is None:
                row["source"] = build.INPUT_SOURCES[name]
            rows.append(tuple(row[f.name] for f in schema.fields))
        frames[name] = spark.createDataFrame(rows, schema)
    return build.Inputs(**frames)


class Result(NamedTuple):
    profiles: pd.DataFrame         # indexed by family_id
    flags: pd.DataFrame
    queue: pd.DataFrame            # review queue, indexed by family_id


def run(spark, params: build.Params, ruleset: rules.RuleSet, inputs: build.Inputs, cycle: str = H1) -> Result:
    """The profile step's transforms on hand-built inputs, collected."""
    year = int(cycle[:4])
    profiles = build.family_profiles(inputs, params, cycle=cycle, cycle_year=year).persist()
    flags = rules.evaluate(spark, build.measures(inputs, profiles, cycle_year=year), ruleset,
                           cycle=cycle).select(*rules.FLAG_COLUMNS).persist()
    out = Result(profiles.toPandas().set_index("family_id"), flags.toPandas(),
                 review.review_queue(flags, profiles, cycle=cycle).toPandas().set_index("family_id"))
    profiles.unpersist()
    flags.unpersist()
    return out


@pytest.fixture(scope="session")
def params(conf) -> build.Params:
    return build.Params.from_conf(conf)


@pytest.fixture(scope="session")
def ruleset(conf) -> rules.RuleSet:
    return rules.load_rules(conf)
