"""The synthetic population and its feeds: statistics, identities, agency formats, ground truth,
the second cycle, determinism. Runs the real generator (Spark + Delta) on a few thousand residents."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.regions import villages
from dtsen.synth.feeds import FEEDS
from dtsen.synth.generate import generate

# The agencies' own layouts, written down independently of the generator's code.
AGENCY_FIELDS = {
    "dukcapil": ["NIK", "NO_KK", "NAMA_LGKP", "TMPT_LHR", "TGL_LHR", "JENIS_KLMIN", "STATUS_KAWIN", "STAT_HBKEL",
                 "PDDK_AKH", "JENIS_PKRJN", "ALAMAT", "KODE_DESA"],
    "bpjs_kesehatan": ["noKartu", "nik", "namaPeserta", "tglLahir", "jenisKelamin", "kdSegmen", "kelasRawat",
                       "statusPeserta", "kdDati2"],
    "dapodik": ["peserta_didik_id", "nisn", "nik", "nama", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
                "bentuk_pendidikan", "tingkat_pendidikan", "npsn", "kode_wilayah", "status"],
    "djp": ["npwp15", "nik", "nama_wp", "tahun_pajak", "jenis_spt", "penghasilan_neto", "pph_terutang",
            "tanggal_lapor"],
    "bpjs_ketenagakerjaan": ["KPJ", "NIK", "NAMA_TK", "TGL_LAHIR", "NPP", "KATEGORI_PEMBERI_KERJA", "UPAH", "STATUS"],
    "samsat": ["nopol", "nik_pemilik", "nama_pemilik", "jenis_kendaraan", "isi_silinder", "tahun_pembuatan",
               "nilai_jual", "tgl_daftar", "kode_wilayah"],
    "pln": ["IDPEL", "NIK", "NAMA", "ALAMAT", "KODE_WILAYAH", "TARIF", "DAYA", "KWH_RATA2", "TGL_PASANG"],
    "susenas": ["URUT", "KODE_PROV", "KODE_KAB", "R105", "NO_KK", "NIK_KRT", "JML_ART", "PENGELUARAN_KAPITA", "WERT"],
}
REGSOSEK_MIN_VARIABLES = 39


def _families(spark, cat, cycle):
    return cat.read(spark, "truth_families", cycle).toPandas()


def _persons(spark, cat, cycle):
    return cat.read(spark, "truth_persons", cycle).toPandas()


def test_population_size_and_structure(generated, spark, cat, requested_residents):
    fam = _families(spark, cat, "2026H1")
    assert abs(fam["size"].sum() - requested_residents) / requested_residents < 0.05
    assert 2.8 <= fam["size"].mean() <= 3.5                       # ~3.05 persons per KK nationally
    share_single = (fam["size"] == 1).mean()
    assert 0.07 <= share_single <= 0.22
    assert fam["size"].max() >= 7                                  # some large families
    p = _persons(spark, cat, "2026H1")
    heads = p[p["relationship"] == 1]
    assert heads["family_key"].is_unique and len(heads) == len(fam)
    assert (p["age"] >= 0).all() and p["age"].max() >= 80
    assert p.loc[p["pregnant"], "female"].all() and p["pregnant"].any()
    school_age = p[(p["age"] >= 7) & (p["age"] <= 12)]
    assert 0.85 <= school_age["enrolled"].mean() <= 1.0


def test_poverty_share_is_calibrated(generated, spark, cat, conf):
    fam = _families(spark, cat, "2026H1")
    share = (fam["size"] * fam["poor"]).sum() / fam["size"].sum()
    assert abs(share - conf.get("generator.target_poverty_share")) < 0.025
    assert (fam["pcc"] > 0).all()
    # urban families are better off on average, and there is a real upper tail
    assert fam.loc[fam["urban"], "pcc"].median() > fam.loc[~fam["urban"], "pcc"].median()
    assert fam["pcc"].quantile(0.99) > 4 * fam["pcc"].median()
    assert 0.4 <= (fam["size"] * fam["urban"]).sum() / fam["size"].sum() <= 0.7


def test_regions_are_real_and_spread_over_provinces(generated, spark, cat):
    fam = _families(spark, cat, "2026H1")
    known = set(villages()["village_code"])
    assert set(fam["village_code"]) <= known
    assert fam["province_code"].nunique() >= 30
    java = fam["province_code"].isin(["31", "32", "33", "34", "35", "36"]).mean()
    assert 0.45 <= java <= 0.65                                    # ~56% of Indonesians live on Java


def _nik_ok(nik: str, birth, female: bool, districts: set[str]) -> bool:
    if len(nik) != 16 or not nik.isdigit() or nik[:6] not in districts:
        return False
    day = int(nik[6:8]) - (40 if female else 0)
    return (day, int(nik[8:10]), int(nik[10:12])) == (birth.day, birth.month, birth.year % 100)


def test_nik_and_kk_are_valid_and_unique(generated, spark, cat):
    districts = set(villages()["district_code"])
    p = _persons(spark, cat, "2026H1")
    ok = [_nik_ok(n, b, f, districts) for n, b, f in zip(p["nik"], p["birth_date"], p["female"])]
    assert all(ok)
    assert p["nik"].is_unique
    fam = _families(spark, cat, "2026H1")
    assert fam["kk"].is_unique and fam["kk"].str.fullmatch(r"\d{16}").all()
    assert fam["kk"].str.slice(0, 6).isin(districts).all()
    # migrants: some NIKs were issued outside the district the family lives in
    moved = (p["nik"].str.slice(0, 6) != p["village_code"].str.slice(0, 6)).mean()
    assert 0.03 <= moved <= 0.3


def test_duplicate_registrations_at_configured_rate(generated, spark, cat, conf):
    rec = cat.read(spark, "truth_records", "2026H1").where(F.col("source") == "dukcapil").toPandas()
    dups = rec[rec["registration"] == "duplicate"]
    p = _persons(spark, cat, "2026H1")
    adults = (p["age"] >= 17).sum()
    rate = conf.get("generator.errors.duplicate_registration_rate")
    assert abs(len(dups) / adults - rate) < 4 * np.sqrt(rate * (1 - rate) / adults) + 0.002
    assert set(dups["person_key"]) <= set(p["person_key"])
    # the second registration carries a different, well-formed NIK for the same person
    primary = p.set_index("person_key")["nik"]
    assert (dups["record_id"].to_numpy() != primary.loc[dups["person_key"]].to_numpy()).all()
    assert dups["record_id"].str.fullmatch(r"\d{16}").all()
    assert not dups["record_id"].isin(p["nik"]).any()


def test_agency_nik_error_rates_follow_conf(generated, spark, cat, conf):
    rec = cat.read(spark, "truth_records", "2026H1").toPandas()
    missing_conf = conf.get("generator.errors.agency_nik_missing")
    for source in ("bpjs_kesehatan", "dapodik", "samsat", "pln"):
        r = rec[rec["source"] == source]
        got = r["error_kinds"].apply(lambda k: "nik_missing" in k).mean()
        want = missing_conf[source]
        assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / len(r)) + 0.003, source


def _read_text_rows(path: str, spec) -> tuple[list[str] | None, list[bytes]]:
    raw = open(path, "rb").read()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    if spec.fmt == "csv":
        return lines[0].decode("utf-8").split(spec.sep), lines[1:]
    return None, lines


def _observed_kinds(spec, header, line: bytes) -> set[str]:
    """Errors visible in one delivered row, found without the generator's help."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return {"broken_encoding"}
    if spec.fmt == "csv":
        fields = next(csv.reader(io.StringIO(text), delimiter=spec.sep))
        if len(fields) != len(header):
            return {"wrong_column_count"}
        row = dict(zip(header, fields))
    else:
        try:
            row = json.loads(text)
        except json.JSONDecodeError:
            return {"broken_json"}
    seen = set()
    nik = row.get(spec.nik) if spec.nik else None
    if spec.nik and (nik is None or nik == ""):
        seen.add("nik_missing")
    elif spec.nik and len(str(nik)) != 16:
        seen.add("bad_nik_length")
    if spec.date:
        field, fmt = spec.date
        try:
            datetime.strptime(str(row[field]), fmt)
        except ValueError:
            seen.add("impossible_date")
    return seen


UNPARSEABLE = {"broken_encoding", "wrong_column_count", "broken_json"}
DETECTABLE = {"broken_encoding", "wrong_column_count", "broken_json", "nik_missing", "bad_nik_length",
              "impossible_date"}


def test_second_registration_repeats_the_persons_own_facts(generated, spark, cat):
    """A second NIK changes where a person is registered, not where they were born or how far they went
    in school: the duplicate row repeats the primary's birth place and education (read from the files)."""
    files = cat.read(spark, "truth_files", "2026H1").where("source = 'dukcapil' AND file_error IS NULL").toPandas()
    spec = FEEDS["dukcapil"]
    rows = {}
    for name in files["file_name"]:
        header, lines = _read_text_rows(os.path.join(cat.landing_dir("2026H1", "dukcapil"), name), spec)
        for line in lines:
            try:
                fields = next(csv.reader(io.StringIO(line.decode("utf-8")), delimiter=spec.sep))
            except (UnicodeDecodeError, StopIteration):
                continue
            if len(fields) == len(header):
                rows[fields[0]] = dict(zip(header, fields))
    rec = cat.read(spark, "truth_records", "2026H1").where("source = 'dukcapil'").toPandas()
    primary_nik = _persons(spark, cat, "2026H1").set_index("person_key")["nik"]
    pairs = [(rows[d.record_id], rows[primary_nik[d.person_key]])
             for d in rec[rec["registration"] == "duplicate"].itertuples()
             if d.record_id in rows and primary_nik.get(d.person_key) in rows]
    assert len(pairs) >= 20
    assert all(dup["TMPT_LHR"] == first["TMPT_LHR"] and dup["PDDK_AKH"] == first["PDDK_AKH"] for dup, first in pairs)
    # ...while the registration itself moved: another NIK district for most of them
    assert sum(dup["NIK"][:6] != first["NIK"][:6] for dup, first in pairs) > len(pairs) / 2


def test_ground_truth_describes_every_delivered_row(generated, spark, cat):
    """Every damaged row found in the files is in the truth with that kind, and vice versa."""
    files = cat.read(spark, "truth_files", "2026H1").toPandas()
    rec = cat.read(spark, "truth_records", "2026H1").toPandas()
    checked = 0
    for f in files.itertuples():
        spec = FEEDS[f.source]
        t = rec[rec["file_name"] == f.file_name].sort_values("row_number")
        assert len(t) == f.rows
        path = os.path.join(cat.landing_dir("2026H1", f.source), f.file_name)
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == f.sha256
        if f.file_error is not None:
            kind = {"empty": "file_empty", "wrong_encoding": "file_wrong_encoding",
                    "wrong_delimiter": "file_wrong_delimiter", "truncated": None}[f.file_error]
            if kind:
                assert all(kind in k for k in t["error_kinds"]), f.file_name
                continue
        if spec.fmt == "parquet":
            if f.file_error == "truncated":
                with pytest.raises((OSError, ValueError)):     # pyarrow: not a parquet file
                    pd.read_parquet(path)
                continue
            df = pd.read_parquet(path)
            assert len(df) == f.rows
            for row, kinds in zip(df.to_dict("records"), t["error_kinds"]):
                seen = set()
                if spec.nik and not row[spec.nik]:
                    seen.add("nik_missing")
                elif spec.nik and len(row[spec.nik]) != 16:
                    seen.add("bad_nik_length")
                assert seen == set(kinds) & {"nik_missing", "bad_nik_length"}
            continue
        header, lines = _read_text_rows(path, spec)
        if spec.fmt == "csv":
            assert header == AGENCY_FIELDS[f.source]
        for i, (line, kinds) in enumerate(zip(lines, t["error_kinds"])):
            kinds = set(kinds)
            if "truncated_row" in kinds:
                assert i == len(lines) - 1                          # only the last delivered row is cut
                continue
            # A row that does not parse hides whatever else is wrong with its values.
            want = (kinds & UNPARSEABLE) or (kinds & DETECTABLE)
            assert _observed_kinds(spec, header, line) == want, (f.file_name, i + 1, kinds)
            checked += 1
        lost = t["error_kinds"].apply(lambda k: "file_truncated" in k).sum()
        assert len(lines) + lost == f.rows, f.file_name
    assert checked > 10_000


def test_every_kind_of_damage_is_present(generated, spark, cat):
    kinds = {k for ks in cat.read(spark, "truth_records", "2026H1").select("error_kinds").toPandas()["error_kinds"]
             for k in ks}
    expected = {"duplicate_registration", "nik_missing", "nik_mistyped", "stale_address", "bad_nik_length",
                "impossible_date", "broken_encoding", "wrong_column_count", "broken_json", "hidden_wealth",
                "name_typo", "name_old_spelling", "name_muhammad_variant", "name_title"}
    assert expected <= kinds
    files = cat.read(spark, "truth_files").toPandas()
    assert {"truncated", "empty", "wrong_delimiter", "wrong_encoding"} <= set(files["file_error"].dropna())


def test_json_and_parquet_feeds_have_agency_fields(generated, spark, cat):
    files = cat.read(spark, "truth_files", "2026H1").where("file_error IS NULL").toPandas()
    for source in ("bpjs_kesehatan", "samsat", "djp", "regsosek"):
        name = files.loc[files["source"] == source, "file_name"].iloc[0]
        path = os.path.join(cat.landing_dir("2026H1", source), name)
        if FEEDS[source].fmt == "parquet":
            cols = list(pd.read_parquet(path).columns)
        else:
            first = next(line for line in open(path, "rb") if line.strip())
            cols = list(json.loads(first).keys())
        if source == "regsosek":
            assert len(cols) >= REGSOSEK_MIN_VARIABLES and {"nik_krt", "no_kk", "kode_desa"} <= set(cols)
        else:
            assert cols == AGENCY_FIELDS[source]


def test_looks_poor_but_rich_families_own_cars_or_pay_tax(generated, spark, cat):
    fam = _families(spark, cat, "2026H1")
    hidden = fam[fam["hidden_wealth"]]
    assert len(hidden) >= 3
    assert not hidden["poor"].any()
    rec = cat.read(spark, "truth_records", "2026H1").where(F.col("source").isin("samsat", "djp")).toPandas()
    with_evidence = set(rec["family_key"])
    assert hidden["family_key"].isin(with_evidence).all()


def test_second_cycle_evolves_the_first(generated, spark, cat):
    p1, p2 = _persons(spark, cat, "2026H1"), _persons(spark, cat, "2026H2")
    f2 = _families(spark, cat, "2026H2")
    both = p1.merge(p2, on="person_key", suffixes=("_1", "_2"))
    assert len(both) / len(p1) > 0.98                              # a few died
    assert len(both) < len(p1)
    assert (both["nik_1"] == both["nik_2"]).all() and (both["name_1"] == both["name_2"]).all()
    births = p2[~p2["person_key"].isin(p1["person_key"])]
    assert len(births) > 0 and (pd.to_datetime(births["birth_date"]) >= "2026-01-01").all()
    assert (births["age"] == 0).all()
    assert (f2["formed_step"] > 0).any()                           # marriages founded new KKs
    assert f2["prev_village_code"].notna().any()                   # some families moved
    moved_keys = set(f2.loc[f2["prev_village_code"].notna(), "family_key"])
    rec2 = cat.read(spark, "truth_records", "2026H2").toPandas()
    assert rec2["file_name"].str.contains("2026H2").all()
    assert moved_keys & set(rec2["family_key"])


def test_ols_proxy_means_test_has_realistic_errors(generated, spark, cat):
    """A plain OLS PMT on the survey variables must not be near-perfect (DESIGN: not under ~10%)."""
    files = cat.read(spark, "truth_files", "2026H1").where("source = 'regsosek' AND file_error IS NULL").toPandas()
    survey = pd.concat([pd.read_parquet(os.path.join(cat.landing_dir("2026H1", "regsosek"), n))
                        for n in files["file_name"]])
    fam = _families(spark, cat, "2026H1")
    d = survey.merge(fam[["kk", "lpcc", "size"]], left_on="no_kk", right_on="kk")
    x_cols = [c for c in survey.columns if c not in ("id_keluarga", "no_kk", "nik_krt", "nama_krt", "kode_desa",
                                                     "tgl_pencacahan")]
    x = d[x_cols].astype(float).to_numpy()
    x = np.column_stack([np.ones(len(x)), x, np.log(d["jml_art"].to_numpy())])
    beta, *_ = np.linalg.lstsq(x, d["lpcc"].to_numpy(), rcond=None)
    pred = x @ beta
    r2 = 1 - np.var(d["lpcc"] - pred) / np.var(d["lpcc"])
    assert 0.3 <= r2 <= 0.8
    w = d["size"].to_numpy()

    def bottom(v, share):
        order = np.argsort(v)
        cum = np.cumsum(w[order]) / w.sum()
        sel = np.zeros(len(v), bool)
        sel[order[cum <= share]] = True
        return sel

    poor, chosen = bottom(d["lpcc"].to_numpy(), 0.2), bottom(pred, 0.2)
    exclusion = (w * (poor & ~chosen)).sum() / (w * poor).sum()
    assert 0.15 <= exclusion <= 0.7


def test_same_seed_same_bytes_other_seed_other_bytes(spark, conf, tmp_path):
    def run(root, seed):
        c = conf.with_overrides({"catalog": {"lake_root": str(root)}})
        generate(spark, c, residents=1500, seed=seed, cycle="2026H1")
        cat = Catalog(c)
        landing = cat.landing_dir("2026H1")
        digests = {}
        for dirpath, _, names in os.walk(landing):
            for n in names:
                digests[n] = hashlib.sha256(open(os.path.join(dirpath, n), "rb").read()).hexdigest()
        truth = cat.read(spark, "truth_persons", "2026H1").orderBy("person_key").toPandas()
        return digests, pd.util.hash_pandas_object(truth.drop(columns=["birth_date"]), index=False).sum()

    a, b, c = run(tmp_path / "a", 11), run(tmp_path / "b", 11), run(tmp_path / "c", 12)
    assert a == b
    assert len(a[0]) >= 9
    assert a[0] != c[0] and a[1] != c[1]
