"""Probabilistic record linkage behind our own interface: Fellegi-Sunter with EM-estimated weights,
run by Splink 5 on its Spark backend.

The rest of the pipeline sees only `Matcher.train` / `Matcher.predict` and a pairs frame
(record_key_l, record_key_r, match_probability, match_weight), so the engine can change without
touching the resolve job. Blocking keys are built here, with oversized blocks left out per rule.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.config import Config, ConfigError

log = logging.getLogger("dtsen.resolve")

# Every comparison column the model reads; blocking columns are added as _b<i>.
FIELDS = ["record_key", "nik_token", "kk_token", "name", "name_key_token", "name_phonetic_token", "first_key",
          "birth_date", "birth_year", "sex", "birth_place", "village", "district", "regency"]


def _swapped(col: str) -> str:
    """SQL: the birth dates ('yyyy-MM-dd') are the same with day and month swapped."""
    return (f"substr({col}_l, 1, 4) = substr({col}_r, 1, 4) AND substr({col}_l, 6, 2) = substr({col}_r, 9, 2) "
            f"AND substr({col}_l, 9, 2) = substr({col}_r, 6, 2)")


def comparisons(dedupe: bool) -> list:
    """Fellegi-Sunter comparisons. Names: exact key (old spelling and Muhammad variants folded, titles
    stripped), then string similarity and the Indonesian phonetic key; term frequencies on the first
    word of the key so 'MUHAMMAD' agreeing counts for less than 'SUPRIYADI'."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name_key_token"),
            cll.JaroWinklerLevel("name", 0.95),
            cll.ExactMatchLevel("name_phonetic_token"),
            cll.JaroWinklerLevel("name", 0.88),
            cll.JaroWinklerLevel("name", 0.75),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(_swapped("birth_date"), label_for_charts="day and month swapped"),
            cll.DamerauLevenshteinLevel("birth_date", 1),
            cll.CustomLevel("birth_year_l = birth_year_r", label_for_charts="same year"),
            cll.ElseLevel(),
        ],
    )
    region = cl.CustomComparison(
        output_column_name="region",
        comparison_levels=[
            cll.NullLevel("regency"),
            cll.ExactMatchLevel("village"),
            cll.ExactMatchLevel("district"),
            cll.ExactMatchLevel("regency"),
            cll.ElseLevel(),
        ],
    )
    out = [name, cl.ExactMatch("first_key").configure(term_frequency_adjustments=True), birth,
           cl.ExactMatch("sex"), region]
    if dedupe:
        out += [cl.ExactMatch("kk_token"), cl.JaroWinklerAtThresholds("birth_place", [0.9])]
    else:
        out.append(cl.ExactMatch("nik_token"))
    return out


@dataclass
class Blocking:
    rules: list[list[str]]
    max_block_size: int

    def keys(self, *frames: DataFrame) -> list[DataFrame]:
        """Adds `_b<i>` per rule: the rule's columns joined, NULL when any is NULL or when the key is
        shared by more than max_block_size records in any one frame (counted per frame, so a block's
        pair count is bounded by max_block_size squared)."""
        out = list(frames)
        for i, cols in enumerate(self.rules):
            key = F.when(F.greatest(*[F.col(c).isNull() for c in cols]) if len(cols) > 1 else F.col(cols[0]).isNull(),
                         F.lit(None)).otherwise(F.concat_ws("|", *[F.col(c).cast("string") for c in cols]))
            out = [f.withColumn(f"_b{i}", key) for f in out]
            big = None
            for f in out:
                heavy = (f.where(F.col(f"_b{i}").isNotNull()).groupBy(f"_b{i}").count()
                         .where(F.col("count") > self.max_block_size).select(f"_b{i}"))
                big = heavy if big is None else big.union(heavy)
            big = big.distinct().withColumn(f"_big{i}", F.lit(True))
            out = [f.join(F.broadcast(big), f"_b{i}", "left")
                   .withColumn(f"_b{i}", F.when(F.col(f"_big{i}").isNull(), F.col(f"_b{i}"))).drop(f"_big{i}")
                   for f in out]
        return out

    def splink_rules(self) -> list:
        from splink import block_on

        return [block_on(f"_b{i}") for i in range(len(self.rules))]


class Matcher:
    """One linkage model: `dedupe=True` finds duplicates within one frame, otherwise links a frame of
    agency records to a frame of residents. Train once per run, then predict."""

    def __init__(self, spark: SparkSession, conf: Config, *, dedupe: bool) -> None:
        self.spark, self.dedupe = spark, dedupe
        p = conf.section("resolve.probabilistic")
        self.seed = int(conf.get("resolve.seed"))
        unknown = {c for rule in p["blocking_rules"] + p["em_blocking_rules"] + [p["prior_rule"]]
                   for c in rule} - set(FIELDS)
        if unknown:
            raise ConfigError(f"resolve.probabilistic names unknown columns {sorted(unknown)}; known: {FIELDS}")
        rules = [r for r in p["blocking_rules"] if dedupe or "kk_token" not in r]
        self.blocking = Blocking(rules, int(p["max_block_size"]))
        self.params = p
        self.linker = None

    def _settings(self):
        from splink import SettingsCreator

        return SettingsCreator(
            link_type="dedupe_only" if self.dedupe else "link_only",
            unique_id_column_name="record_key",
            comparisons=comparisons(self.dedupe),
            blocking_rules_to_generate_predictions=self.blocking.splink_rules(),
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
            max_iterations=20,
        )

    def fit(self, *frames: DataFrame) -> dict:
        """Prepare blocking keys, then estimate the prior, u (random pairs) and m (EM)."""
        from splink import Linker, SparkAPI, block_on

        frames = [f.select(*FIELDS) for f in frames]
        keyed = [f.persist() for f in self.blocking.keys(*frames)]
        self._keyed = keyed
        api = SparkAPI(spark_session=self.spark, break_lineage_method="persist")
        tables = [api.register(f, table_name=f"dtsen_{'dedupe' if self.dedupe else 'link'}_{i}")
                  for i, f in enumerate(keyed)]
        linker = Linker(tables if len(tables) > 1 else tables[0], self._settings(), log_level=logging.WARNING)
        p = self.params
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*p["prior_rule"])], recall=float(p["prior_recall"]))
        linker.training.estimate_u_using_random_sampling(max_pairs=float(p["u_max_pairs"]), seed=self.seed)
        for rule in p["em_blocking_rules"]:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), max_pairs=float(p["em_max_pairs"]))
        self.linker = linker
        return json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))

    def predict(self, threshold: float) -> DataFrame:
        """Scored candidate pairs at or above `threshold`: record_key_l, record_key_r, match_probability,
        match_weight (for link_only, _l is the first frame given to fit)."""
        if self.linker is None:
            raise RuntimeError("fit first")
        pairs = self.linker.inference.predict(threshold_match_probability=threshold).as_spark_dataframe()
        return pairs.select(F.col("record_key_l"), F.col("record_key_r"), F.col("match_probability"),
                            F.col("match_weight"))

    def close(self) -> None:
        for f in getattr(self, "_keyed", []):
            f.unpersist()


