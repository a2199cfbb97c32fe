"""Profile changes between a cycle and the one before: what later explains a family's decile move.

One row per family whose profile changed (families in both cycles with a change, new families and
families gone). `changes` names what changed:
* composition: members joined or left (by resident id) or the member count differs;
* income: formal wages or tax due moved by at least `min_relative_change` of the earlier amount
  (wages drift every cycle; small drift explains no decile move), or the number of formal workers
  or taxpayers changed;
* assets: cars, motorcycles, trucks or the vehicles' value (by the same share) changed;
* electricity: the PLN capacity changed;
* flags: a rule fired that did not, or stopped firing;
* completeness: data_complete changed;
* new_family / family_gone: the KK exists in one cycle only.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dtsen.columns import labels_where

# Profile columns the change table compares (before / after).
COMPARED = ["members", "formal_workers", "formal_wage_month", "taxpayers", "tax_due_year", "cars", "motorcycles",
            "trucks_buses", "vehicles_value", "pln_capacity_va", "data_complete"]


def _moved(before: Column, after: Column, share: float) -> Column:
    """Moved by at least `share` of the earlier amount (from zero: any change)."""
    a, b = F.coalesce(before, F.lit(0)).cast("double"), F.coalesce(after, F.lit(0)).cast("double")
    return (a != b) & (F.abs(b - a) >= F.lit(share) * F.abs(a))


def _differs(a: Column, b: Column) -> Column:
    return ~a.eqNullSafe(b)


def profile_changes(current: DataFrame, previous: DataFrame, *, cycle: str, previous_cycle: str,
                    min_relative_change: float) -> DataFrame:
    """current / previous: profiles of the two cycles with their `flags` (array of rule ids, empty
    when none fired)."""
    def side(df: DataFrame, tag: str) -> DataFrame:
        return df.select("family_id", F.lit(True).alias(f"_in_{tag}"),
                         F.coalesce("member_ids", F.array().cast("array<string>")).alias(f"member_ids_{tag}"),
                         F.coalesce("flags", F.array().cast("array<string>")).alias(f"flags_{tag}"),
                         *[F.col(c).alias(f"{c}_{tag}") for c in COMPARED])

    j = side(previous, "before").join(side(current, "after"), "family_id", "full")
    both = F.col("_in_before").isNotNull() & F.col("_in_after").isNotNull()
    joined = F.array_except(F.coalesce("member_ids_after", F.array()), F.coalesce("member_ids_before", F.array()))
    left = F.array_except(F.coalesce("member_ids_before", F.array()), F.coalesce("member_ids_after", F.array()))
    added = F.array_except(F.coalesce("flags_after", F.array()), F.coalesce("flags_before", F.array()))
    removed = F.array_except(F.coalesce("flags_before", F.array()), F.coalesce("flags_after", F.array()))
    tol = min_relative_change

    def b(c: str) -> Column:
        return F.col(f"{c}_before")

    def a(c: str) -> Column:
        return F.col(f"{c}_after")

    composition = (F.size(joined) > 0) | (F.size(left) > 0) | _differs(b("members"), a("members"))
    income = (_moved(b("formal_wage_month"), a("formal_wage_month"), tol) | _moved(b("tax_due_year"),
                                                                                   a("tax_due_year"), tol)
              | _differs(b("formal_workers"), a("formal_workers")) | _differs(b("taxpayers"), a("taxpayers")))
    assets = (_differs(b("cars"), a("cars")) | _differs(b("motorcycles"), a("motorcycles"))
              | _differs(b("trucks_buses"), a("trucks_buses"))
              | _moved(b("vehicles_value"), a("vehicles_value"), tol))
    checks = [(composition, "composition"), (income, "income"), (assets, "assets"),
              (_differs(b("pln_capacity_va"), a("pln_capacity_va")), "electricity"),
              ((F.size(added) > 0) | (F.size(removed) > 0), "flags"),
              (_differs(b("data_complete"), a("data_complete")), "completeness")]
    changes = (F.when(F.col("_in_before").isNull(), F.array(F.lit("new_family")))
               .when(F.col("_in_after").isNull(), F.array(F.lit("family_gone")))
               .otherwise(labels_where((both & cond, name) for cond, name in checks)))
    out = j.select(
        F.lit(cycle).alias("cycle"), F.lit(previous_cycle).alias("previous_cycle"), "family_id",
        changes.alias("changes"), F.size(joined).cast("int").alias("members_joined"),
        F.size(left).cast("int").alias("members_left"), added.alias("flags_added"), removed.alias("flags_removed"),
        *[F.col(f"{c}_{t}") for c in COMPARED for t in ("before", "after")],
        F.col("flags_before"), F.col("flags_after"))
    return out.where(F.size("changes") > 0)
