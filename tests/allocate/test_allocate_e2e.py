"""The allocation stage end to end on the generated population (both cycles): eligibility with
reasons, quotas, selection, one status per family, reconciliation, publishing, reruns, the cycle
diff, non-Spark readers and simulate."""
from __future__ import annotations

import hashlib
import json
import os

import pandas as pd
import pytest
from pyspark.sql import functions as F

from dtsen.allocate import job
from dtsen.allocate.job import Allocation, ReconciliationError, reconcile
from dtsen.allocate.programs import load_programs
from dtsen.allocate.publish import publish
from dtsen.allocate.simulate import simulate
from dtsen.cli import main
from dtsen.config import ConfigError

H1, H2 = "2026H1", "2026H2"


def test_every_family_has_exactly_one_status(allocated, spark, cat):
    for c in (H1, H2):
        st = cat.read(spark, "family_status", c)
        fams = cat.read(spark, "family_profiles", c).select("family_id")
        fam_rows = st.where(F.col("family_id").isNotNull())
        assert fam_rows.count() == fams.count() == allocated[c]["families"] > 300
        assert fam_rows.select("family_id").distinct().count() == fams.count()
        assert fams.join(fam_rows, "family_id", "left_anti").count() == 0
        assert st.select("status_key").distinct().count() == st.count()
        got = {r["status"]: r["count"] for r in st.groupBy("status").count().collect()}
        assert set(got) == {"Terdaftar sebagai Penerima", "Terdaftar tapi Belum Menerima", "Data Tidak Lengkap",
                            "Tidak Terdaftar"}, got
        # recipients list their programs; nobody else does; every row has reasons in both languages
        assert st.where((F.col("status_code") == "recipient") != (F.size("programs") > 0)).count() == 0
        assert st.where((F.size("reasons_id") == 0) | (F.size("reasons_en") != F.size("reasons_id"))).count() == 0
        # incomplete families are Data Tidak Lengkap unless a program still took them
        inc = cat.read(spark, "family_profiles", c).where(~F.col("data_complete")).select("family_id")
        assert inc.join(st, "family_id").where(F.col("status_code").isin("registered")).count() == 0


def test_tidak_terdaftar_rows_are_unlinked_records_of_no_resident(allocated, spark, cat):
    st = cat.read(spark, "family_status", H1).where(F.col("status_code") == "not_registered")
    assert st.count() > 0 and st.where(F.col("family_id").isNotNull()).count() == 0
    niks = cat.read(spark, "residents", H1).select("nik_token")
    assert st.join(niks, "nik_token").count() == 0          # a registered NIK never shows as Tidak Terdaftar
    assert not {"name", "nik", "kk", "birth_date"} & set(st.columns)


def test_counts_reconcile_and_quotas_sum_at_every_level(allocated, spark, cat, conf):
    for c in (H1, H2):
        programs = load_programs(conf, c)
        elig, rec, q = (cat.read(spark, t, c) for t in ("eligibility", "recipients", "quotas"))
        families = cat.read(spark, "family_profiles", c).count()
        for p in programs.programs:
            n = {r["outcome"]: r["count"] for r in rec.where(F.col("program") == p.program).groupBy("outcome")
                 .count().collect()}
            not_elig = elig.where((F.col("program") == p.program) & ~F.col("eligible")).count()
            assert n.get("recipient", 0) + n.get("waitlisted", 0) + not_elig == families, p.program
            assert n.get("recipient", 0) == allocated[c]["programs"][p.program]["recipients"]
            amount = "budget_rp" if p.budget_rp is not None else "quota_families"
            mine = q.where(F.col("program") == p.program)
            level = {r["level"]: r["s"] for r in mine.groupBy("level").agg(F.sum(amount).alias("s")).collect()}
            assert level["national"] == level["province"] == level["regency"] > 0, (p.program, level)
        # no regency over its quota, none under it while families wait (quota programs, no stacking block)
        per = (rec.where(F.col("outcome") == "recipient").groupBy("program", "regency_code").count()
               .join(q.where(F.col("level") == "regency"), ["program", "regency_code"], "right")
               .fillna(0, ["count"]))
        assert per.where(F.col("count") > F.col("quota_families")).count() == 0
        waiting = rec.where((F.col("outcome") == "waitlisted") & ~F.col("reason_en").startswith("stacking"))
        short = per.where(F.col("count") < F.col("quota_families")).join(waiting, ["program", "regency_code"])
        assert short.count() == 0


def test_recipients_are_the_lowest_welfare_ranks_of_their_regency(allocated, spark, cat):
    rec = cat.read(spark, "recipients", H1)
    top = rec.where(F.col("outcome") == "recipient").groupBy("program", "regency_code").agg(
        F.max("welfare_rank").alias("worst_in"))
    wait = (rec.where((F.col("outcome") == "waitlisted") & ~F.col("reason_en").startswith("stacking"))
            .groupBy("program", "regency_code").agg(F.min("welfare_rank").alias("best_out"),
                                                    F.min("waitlist_rank").alias("first_wait")))
    both = top.join(wait, ["program", "regency_code"])
    assert both.count() > 0
    assert both.where(F.col("best_out") < F.col("worst_in")).count() == 0
    assert both.where(F.col("first_wait") != 1).count() == 0


def test_eligibility_gives_reasons_both_ways(allocated, spark, cat):
    elig = cat.read(spark, "eligibility", H1)
    pkh = elig.where(F.col("program") == "PKH")
    high = pkh.where(F.col("desil") == 7).first()
    assert not high["eligible"] and "desil 7 is above PKH's 1-4" in high["failed_en"]
    assert "desil 7 di atas rentang PKH 1-4" in high["failed_id"]
    ok = pkh.where(F.col("eligible")).first()
    assert f"desil {ok['desil']} is within PKH's 1-4" in ok["reasons_en"] and ok["failed_en"] == []
    assert any(r.startswith("PKH components: ") for r in ok["reasons_en"]) and ok["benefit_rp"] > 0
    excluded = (cat.read(spark, "profile_flags", H1).where(F.col("outcome") == "exclude")
                .select("family_id").distinct())
    ex = elig.join(excluded, "family_id")
    assert ex.count() > 0 and ex.where(F.col("eligible")).count() == 0
    assert ex.where(~F.exists("failed_en", lambda r: r.startswith("excluded: "))).count() == 0
    state = ex.where(F.exists("failed_id", lambda r: r.contains("ASN/TNI/Polri"))).count()
    assert state > 0                                   # the civil-servant text from conf, not the rule id


def test_reconciliation_mismatch_raises_and_the_cli_exits_3(allocated, spark, conf, cat, monkeypatch):
    programs = load_programs(conf, H1)
    real = job.compute(spark, conf, cat, programs, H1)
    families = real.status.count()
    assert reconcile(real, families, programs)["PKH"]["families"] == families
    lost = Allocation(real.eligibility, real.quotas,
                      real.recipients.where(~((F.col("program") == "SEMBAKO") & (F.col("rank") == 1))), real.status)
    with pytest.raises(ReconciliationError, match="SEMBAKO"):
        reconcile(lost, families, programs)
    monkeypatch.setattr(job, "compute", lambda *a, **k: lost)
    assert main(["--env", "test", "allocate", "--cycle", H1]) == 3


def test_config_error_exits_2(capsys):
    assert main(["--env", "test", "allocate", "--cycle", "2025H2"]) == 2
    assert "no program catalog for cycle 2025H2" in capsys.readouterr().err


def test_publish_files_hold_only_disbursement_fields_and_manifests_match(published, scored, spark, cat, conf):
    root = cat.publish_dir(H1)
    index = json.load(open(os.path.join(root, "index.json")))
    champion = f"{conf.get('score.registered_model')}:{scored['promote']['champion']}"
    assert index["config_version"] == "2026.1" and index["model_version"] == champion
    rec = cat.read(spark, "recipients", H1).where(F.col("outcome") == "recipient")
    csvs = [f for f in index["files"] if f["format"] == "csv"]
    assert sum(f["rows"] for f in csvs) == rec.count() == sum(f["rows"] for f in index["files"]) // 2
    one = csvs[0]
    path = os.path.join(root, one["program"], one["file"])
    frame = pd.read_csv(path, dtype=str)
    par = pd.read_parquet(path.replace(".csv", ".parquet"))
    man = json.load(open(path + ".manifest.json"))
    assert list(frame.columns) == list(par.columns) == man["columns"]
    assert not {"name", "nik", "nik_token", "birth_date", "address"} & set(frame.columns)
    assert man["rows"] == len(frame) == len(par) and man["total_benefit_rp"] == int(par["benefit_rp"].sum())
    assert man["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert man["code_version"] and man["cycle"] == H1 and man["regency_code"] == one["regency_code"]
    assert (par["regency_code"] == one["regency_code"]).all() and par["recipient_rank"].is_monotonic_increasing
    # the file is exactly that regency's recipients of that program
    want = rec.where((F.col("program") == one["program"]) & (F.col("regency_code") == one["regency_code"]))
    assert sorted(par["family_id"]) == sorted(r["family_id"] for r in want.select("family_id").collect())


def test_rerun_is_byte_identical(published):
    first, again = published["hashes"]
    assert len(first) > 20 and first == again


def test_publish_of_the_allocated_tables_gives_the_same_files_and_refuses_a_stale_allocation(
        published, spark, conf, cat):
    """The DAG's publish task takes the allocate task's tables (--allocated) instead of allocating
    again: the same files byte for byte; an allocation made under another programs version stops it."""
    again = publish(spark, conf, cycle=H1, reuse_allocation=True)
    assert again["programs"] == published["again"]["programs"] and again["status"] == published["again"]["status"]
    assert published["hashes_of"](H1) == published["hashes"][0]
    newer = conf.with_overrides({"programs": {"version": "2099.9"}})
    with pytest.raises(ConfigError, match="made with programs 2026.1, conf now has 2099.9"):
        publish(spark, newer, cycle=H1, reuse_allocation=True)


def test_cycle_diff_new_continuing_exited_with_reasons(published, spark, cat):
    diff = cat.read(spark, "cycle_diff", H2)
    assert diff.where(F.col("reason_en").isNull() | F.col("reason_id").isNull()).count() == 0
    prev = cat.read(spark, "recipients", H1).where(F.col("outcome") == "recipient")
    cur = cat.read(spark, "recipients", H2).where(F.col("outcome") == "recipient")
    n = {(r["program"], r["change"]): r["count"] for r in diff.groupBy("program", "change").count().collect()}
    for p in ("PKH", "SEMBAKO"):
        assert n[(p, "continuing")] + n.get((p, "exited"), 0) == prev.where(F.col("program") == p).count()
        assert n[(p, "continuing")] + n.get((p, "new"), 0) == cur.where(F.col("program") == p).count()
    exited = diff.where(F.col("change") == "exited")
    assert exited.count() > 0
    kinds = {r["k"] for r in exited.select(F.regexp_extract("reason_en", r"^(no longer eligible|no longer in the "
                                                            r"registry|outside the|stacking)", 1).alias("k"))
             .collect()}
    assert "" not in kinds, kinds
    # an exited family that is no longer eligible has that program's failed check as its reason
    row = exited.where(F.col("reason_en").startswith("no longer eligible")).first()
    if row is not None:
        e = cat.read(spark, "eligibility", H2).where((F.col("program") == row["program"])
                                                     & (F.col("family_id") == row["family_id"])).first()
        assert not e["eligible"] and e["failed_en"][0] in row["reason_en"]


def test_published_tables_read_by_deltalake_and_pandas_and_earlier_cycles_stay(published, spark, cat):
    from deltalake import DeltaTable

    for table in ("family_status", "recipients", "quotas"):
        dt = DeltaTable(cat.path(table))
        frame = dt.to_pandas()
        assert len(frame) == cat.read(spark, table).count()
        assert set(frame["cycle"]) == {H1, H2}                   # H2 did not replace H1
    st = DeltaTable(cat.path("family_status")).to_pandas(filters=[("cycle", "=", H1)])
    spark_rows = cat.read(spark, "family_status", H1).where(F.col("family_id").isNotNull())
    assert st["family_id"].notna().sum() == spark_rows.count()
    some = spark_rows.orderBy("family_id").first()
    got = st[st["family_id"] == some["family_id"]].iloc[0]
    assert got["status"] == some["status"] and list(got["reasons_en"]) == list(some["reasons_en"])
    # pandas over the table's live files (an Arrow dataset of the current Delta version)
    import pyarrow.dataset as ds

    quotas = DeltaTable(cat.path("quotas")).to_pyarrow_dataset().to_table(filter=ds.field("cycle") == H2).to_pandas()
    assert len(quotas) == cat.read(spark, "quotas", H2).count() and quotas["program"].nunique() == 8
    # the first version written (H1's first publish) is still readable, by a non-Spark reader too
    first = DeltaTable(cat.path("recipients"), version=0).to_pandas()
    assert set(first["cycle"]) == {H1} and len(first) == cat.read(spark, "recipients", H1).count()


def test_simulate_changes_a_program_without_publishing(published, spark, conf, cat):
    before = cat.read(spark, "recipients").count()
    from delta.tables import DeltaTable

    version = DeltaTable.forPath(spark, cat.path("recipients")).history(1).first()["version"]
    s = simulate(spark, conf, cycle=H1, changes={"PKH": {"desil": [1, 2]}, "SEMBAKO": {"quota": {"families": 0}}})
    base, new = s["baseline"], s["scenario"]
    assert new["SEMBAKO"]["recipient_families"] == 0 and base["SEMBAKO"]["recipient_families"] > 0
    assert new["SEMBAKO"]["undercoverage"] == 1.0
    assert new["PKH"]["recipient_families"] <= base["PKH"]["recipient_families"]
    assert s["labelled_families"] >= 10            # 19 surveyed families link in this 6,000-resident population
    for p in ("PKH", "SEMBAKO", "CBP"):
        for k in ("leakage", "undercoverage", "coverage"):
            assert base[p][k] is None or 0 <= base[p][k] <= 1
        assert sum(v["recipient_families"] for v in base[p]["provinces"].values()) == base[p]["recipient_families"]
    assert s["delta"]["SEMBAKO"]["recipient_families"] == -base["SEMBAKO"]["recipient_families"]
    assert cat.read(spark, "recipients").count() == before
    assert DeltaTable.forPath(spark, cat.path("recipients")).history(1).first()["version"] == version
