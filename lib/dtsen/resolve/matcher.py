"""Probabilistic record linkage behind our own interface: Fellegi-Sunter with EM-estimated weights,
run by Splink 5 on its Spark backend.

The rest of the pipeline sees only `Matcher.train` / `Matcher.predict` and a pairs frame
(record_key_l, record_key_r, match_probability, match_weight), so the engine can change without
touching the resolve job. Blocking keys are built here, with oversized blocks left out per rule.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.config import Config, ConfigError

log = logging.getLogger("dtsen.resolve")
_RUNS = itertools.count()


@contextmanager
def timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    """Add the wall time of the block to seconds[step] (Spark work is counted where an action runs)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[step] = round(seconds.get(step, 0.0) + time.perf_counter() - started, 1)

# Every comparison column the model reads; blocking columns are added as _b<i>.
FIELDS = ["record_key", "nik_token", "kk_token", "name", "name_key_token", "name_phonetic_token", "first_key",
          "birth_date", "birth_date_any_order", "birth_year", "sex", "birth_place", "education", "marital_status",
          "village", "district", "regency", "province"]


def _swapped(col: str) -> str:
    """SQL: the birth dates ('yyyy-MM-dd') are the same with day and month swapped."""
    return (f"substr({col}_l, 1, 4) = substr({col}_r, 1, 4) AND substr({col}_l, 6, 2) = substr({col}_r, 9, 2) "
            f"AND substr({col}_l, 9, 2) = substr({col}_r, 6, 2)")


SWAPPED = "day and month swapped"


def _same_ends(col: str) -> str:
    """SQL: the names start with the same word and end with the same word (a middle name dropped or
    cut to an initial: EKO SUSILO HAKIM / EKO S. HAKIM / EKO HAKIM)."""
    return " AND ".join(f"element_at(split({col}_l, ' '), {i}) = element_at(split({col}_r, ' '), {i})" for i in (1, -1))


def comparisons(dedupe: bool, swapped_m: float = 0.01) -> list:
    """Fellegi-Sunter comparisons. Names: exact key (old spelling and Muhammad variants folded, titles
    stripped) with a term-frequency adjustment, so a common full name ('MUHAMMAD RIZKI') agreeing counts
    for less than a rare one; then one keyboard slip (a letter wrong, dropped, doubled or two swapped:
    Damerau-Levenshtein 1, which Jaro-Winkler scores low on short names: AGUS / GAUS), string
    similarity, the Indonesian phonetic key and the same first and last word (a middle name dropped
    or abbreviated). Family and region are one comparison (same KK implies
    same village: two comparisons would count it twice). `swapped_m` starts EM's estimate for day and
    month swapped."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def common_counts_less(column: str, key: str, closer: list):
        """NULL, then `key` agreeing with a term-frequency adjustment, then the `closer` levels, else."""
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[cll.NullLevel(column),
                               cll.ExactMatchLevel(key).configure(tf_adjustment_column=key, tf_adjustment_weight=1.0),
                               *closer, cll.ElseLevel()])

    name = common_counts_less("name", "name_key_token", [
        cll.DamerauLevenshteinLevel("name", 1), cll.JaroWinklerLevel("name", 0.95),
        cll.ExactMatchLevel("name_phonetic_token"),
        cll.CustomLevel(_same_ends("name"), label_for_charts="same first and last word"),
        cll.JaroWinklerLevel("name", 0.88), cll.JaroWinklerLevel("name", 0.75)])
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            # Day and month swapped: EM estimates it where one KK holds the same name twice; the fit
            # keeps it at least at resolve.probabilistic.min_m_day_month_swapped, since a small or
            # clean population may show none. A one-digit slip is rare in any training block, so EM
            # would leave it at m = 0 (never a match): fixed at what registries report, ~1% of pairs.
            cll.CustomLevel(_swapped("birth_date"), label_for_charts=SWAPPED).configure(m_probability=swapped_m),
            cll.DamerauLevenshteinLevel("birth_date", 1).configure(m_probability=0.01, fix_m_probability=True),
            cll.DamerauLevenshteinLevel("birth_date", 2),
            cll.ElseLevel(),
        ],
    )
    place_levels = [cll.NullLevel("regency")]
    if dedupe:
        place_levels.append(cll.ExactMatchLevel("kk_token"))
    place_levels += [cll.ExactMatchLevel("village"), cll.ExactMatchLevel("district"), cll.ExactMatchLevel("regency"),
                     cll.ExactMatchLevel("province"), cll.ElseLevel()]
    place = cl.CustomComparison(output_column_name="family_region", comparison_levels=place_levels)
    out = [name, birth, cl.ExactMatch("sex"), place]
    if dedupe:
        # Registry-only evidence. At national scale the prior that two records are one person is ~1e-8,
        # and name + birth date + region leave a common name short of certainty; the place of birth (a
        # big city agreeing counts for less than a small one), education and marital status are what
        # tell a second registration from a namesake born the same day.
        out += [common_counts_less("birth_place", "birth_place", [cll.JaroWinklerLevel("birth_place", 0.9)]),
                cl.ExactMatch("education"), cl.ExactMatch("marital_status")]
    else:
        out.append(cl.ExactMatch("nik_token"))
    return out


def floor_swapped_m(model: dict, floor: float) -> bool:
    """Raises the day-and-month-swapped m of a trained model (Splink's JSON) to at least `floor`;
    True when it changed. Unobserved in training, the level has no m: it gets the floor too."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("label_for_charts") == SWAPPED and float(level.get("m_probability") or 0) < floor:
                log.info("m of %r: EM gave %s, raised to %s", SWAPPED, level.get("m_probability"), floor)
                level["m_probability"] = floor
                return True
    return False


@dataclass
class Blocking:
    rules: list[list[str]]
    max_block_size: int

    def keys(self, *frames: DataFrame) -> list[DataFrame]:
        """Adds `_b<i>` per rule: the rule's columns joined, NULL when any is NULL or when the key is
        shared by more than max_block_size records in any one frame (counted per frame, so a block's
        pair count is bounded by max_block_size squared). Frames come back checkpointed."""
        keyed = []
        for f in frames:
            cols = []
            for i, rule in enumerate(self.rules):
                missing = F.greatest(*[F.col(c).isNull() for c in rule]) if len(rule) > 1 else F.col(rule[0]).isNull()
                cols.append(F.when(~missing, F.concat_ws("|", *[F.col(c).cast("string") for c in rule]))
                            .alias(f"_b{i}"))
            keyed.append(f.select("*", *cols).localCheckpoint())
        for i in range(len(self.rules)):
            heavy = None
            for f in keyed:
                h = (f.where(F.col(f"_b{i}").isNotNull()).groupBy(f"_b{i}").count()
                     .where(F.col("count") > self.max_block_size).select(f"_b{i}"))
                heavy = h if heavy is None else heavy.union(h)
            big = heavy.distinct().withColumn("_big", F.lit(True)).localCheckpoint()
            n_big = big.count()
            if n_big:
                log.info("blocking rule %s: %d keys over %d records left out", self.rules[i], n_big,
                         self.max_block_size)
                keyed = [f.join(F.broadcast(big), f"_b{i}", "left")
                         .withColumn(f"_b{i}", F.when(F.col("_big").isNull(), F.col(f"_b{i}"))).drop("_big")
                         .localCheckpoint() for f in keyed]
        return keyed

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
        em = p.get("em_blocking_rules")
        if not isinstance(em, dict) or not all(isinstance(em.get(k), list) and em[k] for k in ("dedupe", "link")):
            raise ConfigError("resolve.probabilistic.em_blocking_rules must give a list of rules for `dedupe` "
                              "(the civil registry) and one for `link` (agency records)")
        unknown = {c for rule in p["blocking_rules"] + em["dedupe"] + em["link"] + [p["prior_rule"]]
                   for c in rule} - set(FIELDS)
        if unknown:
            raise ConfigError(f"resolve.probabilistic names unknown columns {sorted(unknown)}; known: {FIELDS}")
        self.em_rules = em["dedupe" if dedupe else "link"]
        rules = [r for r in p["blocking_rules"] if dedupe or "kk_token" not in r]
        self.blocking = Blocking(rules, int(p["max_block_size"]))
        try:
            self.min_swapped_m = float(p.get("min_m_day_month_swapped"))
        except (TypeError, ValueError):
            self.min_swapped_m = -1.0
        if not 0 < self.min_swapped_m < 1:
            raise ConfigError("resolve.probabilistic.min_m_day_month_swapped must be a share in (0, 1) of true "
                              f"pairs, got {p.get('min_m_day_month_swapped')!r}")
        chunks = p.get("u_chunks")
        if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
            raise ConfigError("resolve.probabilistic.u_chunks must be a whole number of Spark jobs >= 1 per "
                              f"comparison for the u estimate (1 scores every random pair at once), got {chunks!r}")
        self.params = p
        self.linker = None
        self.compared_pairs: dict = {}
        self.seconds: dict[str, float] = {}     # wall time per training / prediction step

    def _settings(self):
        from splink import SettingsCreator

        return SettingsCreator(
            link_type="dedupe_only" if self.dedupe else "link_only",
            unique_id_column_name="record_key",
            comparisons=comparisons(self.dedupe, self.min_swapped_m),
            blocking_rules_to_generate_predictions=self.blocking.splink_rules(),
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
            max_iterations=20,
        )

    def fit(self, *frames: DataFrame) -> dict:
        """Prepare blocking keys, then estimate the prior, u (random pairs) and m (EM)."""
        from splink import Linker, SparkAPI, block_on

        frames = [f.select(*FIELDS) for f in frames]
        with timed(self.seconds, "blocking_keys"):
            keyed = self.blocking.keys(*frames)
        # Splink's intermediate tables (comparison vectors, predictions) are checkpointed, not cached:
        # with `persist` every EM iteration recomputed the comparison vectors from the blocked pairs
        # (27 s an iteration at 1M residents). The job sets the checkpoint folder.
        api = SparkAPI(spark_session=self.spark, break_lineage_method="checkpoint")
        run = next(_RUNS)        # Splink registers temp views: unique per model within a session
        self._names = [f"dtsen_{'dedupe' if self.dedupe else 'link'}_{run}_{i}" for i in range(len(keyed))]
        tables = [api.register(f, table_name=n) for f, n in zip(keyed, self._names)]
        linker = Linker(tables if len(tables) > 1 else tables[0], self._settings(), log_level=logging.WARNING)
        p = self.params
        with timed(self.seconds, "prior"):
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*p["prior_rule"])], recall=float(p["prior_recall"]))
        with timed(self.seconds, "u"):
            linker.training.estimate_u_using_random_sampling(
                max_pairs=float(p["u_max_pairs"]), seed=self.seed, num_chunks=p["u_chunks"])
        with timed(self.seconds, "em"):
            for rule in self.em_rules:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), max_pairs=float(p["em_max_pairs"]))
        model = json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))
        if floor_swapped_m(model, self.min_swapped_m):
            linker = Linker(tables if len(tables) > 1 else tables[0], model, log_level=logging.WARNING)
        self.linker = linker
        return model

    def predict(self, threshold: float) -> DataFrame:
        """Scored candidate pairs at or above `threshold`: record_key_l, record_key_r, match_probability,
        match_weight (for link_only, _l is the first frame given to fit)."""
        if self.linker is None:
            raise RuntimeError("fit first")
        # the candidate pairs, materialized once (predict scores this cached table) and counted per rule
        with timed(self.seconds, "blocked_pairs"):
            blocked = self.linker.inference.compute_blocked_pairs_for_predict().as_spark_dataframe()
            per_rule = {int(r["match_key"]): int(r["count"]) for r in blocked.groupBy("match_key").count().collect()}
        self.compared_pairs = {"total": sum(per_rule.values()),
                               "by_rule": {"+".join(rule): per_rule.get(i, 0)
                                           for i, rule in enumerate(self.blocking.rules)}}
        pairs = self.linker.inference.predict(threshold_match_probability=threshold).as_spark_dataframe()
        left, right = F.col("record_key_l"), F.col("record_key_r")
        if not self.dedupe and "source_dataset_l" in pairs.columns:
            # Splink orders the two datasets itself: put the first frame given to fit on the left
            swap = F.col("source_dataset_l") != F.lit(self._names[0])
            left, right = F.when(swap, right).otherwise(left), F.when(swap, left).otherwise(right)
        return pairs.select(left.alias("record_key_l"), right.alias("record_key_r"), F.col("match_probability"),
                            F.col("match_weight"))

    def close(self) -> None:
        """Drop Splink's cached intermediate tables."""
        if self.linker is not None:
            self.linker.table_management.invalidate_cache()
            for name in self._names:
                self.spark.catalog.dropTempView(name)


