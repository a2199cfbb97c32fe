"""Column helpers shared by the stages.

Arrays of labels are built with ``concat`` of one- or zero-element arrays rather than
``filter(array(...), x -> x IS NOT NULL)``: higher-order functions (``filter``, ``transform``,
``array_compact``) are evaluated row by row outside Spark's generated code and break whole-stage
codegen for the projection they sit in, ``concat``, ``when`` and ``array_distinct`` do not.
"""
from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column
from pyspark.sql import functions as F


def present(values: Iterable[Column], element_type: str = "string") -> Column:
    """The values that are not NULL, in the given order (an empty array when none is)."""
    empty = F.array().cast(f"array<{element_type}>")
    parts = [F.when(v.isNotNull(), F.array(v)).otherwise(empty) for v in values]
    return F.concat(*parts) if parts else empty


def labels_where(pairs: Iterable[tuple[Column, str]]) -> Column:
    """The labels whose condition is true (not false, not NULL), in the given order."""
    empty = F.array().cast("array<string>")
    parts = [F.when(cond, F.array(F.lit(label))).otherwise(empty) for cond, label in pairs]
    return F.concat(*parts) if parts else empty


__all__ = ["labels_where", "present"]
