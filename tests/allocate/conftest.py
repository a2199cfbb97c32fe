"""Inputs of the allocation stage on the suite's generated population (both cycles).

`scored` stands in for the scoring stage (`dtsen score`): deterministic stand-in scores
(dtsen.synth.scores: a predicted per-capita consumption from the profiles, the production
person-weighted desil definition). A test input written through the Catalog, so the allocation code
reads it exactly as it reads the real family_scores table.
"""
from __future__ import annotations

import pytest

H1, H2 = "2026H1", "2026H2"


@pytest.fixture(scope="session")
def profiled_cycles(resolved, spark, conf, cat):
    from dtsen.profile.job import profile

    for c in (H1, H2):
        if not cat.exists(spark, "family_profiles") or cat.read(spark, "family_profiles", c).limit(1).count() == 0:
            profile(spark, conf, cycle=c)
    return (H1, H2)


@pytest.fixture(scope="session")
def scored(profiled_cycles, spark, conf, cat):
    from dtsen.synth.scores import stand_in_scores

    for c in profiled_cycles:
        cat.write(stand_in_scores(cat.read(spark, "family_profiles", c), conf, c), "family_scores", cycle=c)
    return profiled_cycles
