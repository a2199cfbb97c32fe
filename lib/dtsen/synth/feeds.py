"""Agency feeds of one chunk, each in its agency's own format, with the errors real data has.

Every record written is also described in the ground truth (which person and family it really
belongs to, and every error injected into it), so that ingestion, linkage and targeting can be
scored. The pipeline never reads the ground truth.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dtsen.synth import names as nm
from dtsen.synth.population import EDUCATION_LABEL, HEAD, RELATIONSHIP_LABEL, Reference
from dtsen.synth.rng import keyed_bits, keyed_normal, keyed_uniform, sigmoid

S_VEH, S_HEALTH, S_PLN, S_TAX, S_IDS = 300, 320, 340, 360, 380


@dataclass(frozen=True)
class FeedSpec:
    """How an agency delivers its file: format, delimiter and which fields carry identity."""

    source: str
    fmt: str                       # csv | jsonl | parquet
    sep: str | None
    nik: str | None
    name: str | None
    date: tuple[str, str] | None   # (field, strftime format)
    region: str | None
    record_id: str | None
    region_dots: bool = False      # PLN writes 32.01.01.1001; others 3201011001

    @property
    def ext(self) -> str:
        return {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[self.fmt]


FEEDS: dict[str, FeedSpec] = {s.source: s for s in [
    FeedSpec("dukcapil", "csv", ";", "NIK", "NAMA_LGKP", ("TGL_LHR", "%d-%m-%Y"), "KODE_DESA", None),
    FeedSpec("bpjs_kesehatan", "jsonl", None, "nik", "namaPeserta", ("tglLahir", "%Y-%m-%d"), "kdDati2", "noKartu"),
    FeedSpec("dapodik", "csv", ",", "nik", "nama", ("tanggal_lahir", "%Y-%m-%d"), "kode_wilayah", "nisn"),
    FeedSpec("djp", "parquet", None, "nik", "nama_wp", ("tanggal_lapor", "%Y%m%d"), None, "npwp15"),
    FeedSpec("bpjs_ketenagakerjaan", "csv", "|", "NIK", "NAMA_TK", ("TGL_LAHIR", "%d/%m/%Y"), None, "KPJ"),
    FeedSpec("samsat", "jsonl", None, "nik_pemilik", "nama_pemilik", ("tgl_daftar", "%d-%m-%Y"), "kode_wilayah",
             "nopol"),
    FeedSpec("pln", "csv", ";", "NIK", "NAMA", ("TGL_PASANG", "%Y-%m-%d"), "KODE_WILAYAH", "IDPEL", region_dots=True),
    FeedSpec("regsosek", "parquet", None, "nik_krt", "nama_krt", ("tgl_pencacahan", "%Y-%m-%d"), "kode_desa",
             "id_keluarga"),
    FeedSpec("susenas", "csv", ",", "NIK_KRT", None, None, "KODE_KAB", "URUT"),
]}

SECTOR_DUKCAPIL = {"ASN": "PEGAWAI NEGERI SIPIL", "TNI": "TENTARA NASIONAL INDONESIA", "POLRI": "KEPOLISIAN RI",
                   "BUMN": "KARYAWAN BUMN", "BUMD": "KARYAWAN BUMD", "SWASTA": "KARYAWAN SWASTA",
                   "INFORMAL": "WIRASWASTA", "PERTANIAN": "PETANI/PEKEBUN", "TIDAK BEKERJA": "BELUM/TIDAK BEKERJA"}
SECTOR_BPJSTK = {"ASN": "PENYELENGGARA NEGARA", "TNI": "TNI", "POLRI": "POLRI", "BUMN": "BUMN", "BUMD": "BUMD",
                 "SWASTA": "SWASTA"}
PLATE = {"11": "BL", "12": "BK", "13": "BA", "14": "BM", "15": "BH", "16": "BG", "17": "BD", "18": "BE", "19": "BN",
         "21": "BP", "31": "B", "32": "D", "33": "H", "34": "AB", "35": "L", "36": "A", "51": "DK", "52": "DR",
         "53": "EB", "61": "KB", "62": "KH", "63": "DA", "64": "KT", "65": "KU", "71": "DB", "72": "DN", "73": "DD",
         "74": "DT", "75": "DM", "76": "DC", "81": "DE", "82": "DG", "91": "PA", "92": "PB", "93": "PS", "94": "PT",
         "95": "PG", "96": "PY"}
STREETS = ["MERDEKA", "SUDIRMAN", "DIPONEGORO", "KARTINI", "PAHLAWAN", "MAWAR", "MELATI", "KENANGA", "RAYA",
           "PERINTIS", "CEMPAKA", "ANGGREK", "NUSANTARA", "SILIWANGI", "GAJAH MADA", "HASANUDDIN"]


def _digits(seed: int, stream: int, keys: np.ndarray, n: int) -> np.ndarray:
    """Deterministic n-digit agency identifiers from entity keys.

    An affine map x -> (a*x + b) mod 10^n with a coprime to 10 is a bijection, so distinct keys below
    10^n never share an identifier (random draws would: ~50 collisions per million 10-digit ids),
    while the numbers still look scattered."""
    return np.array([f"{x:0{n}d}" for x in _affine(seed, stream, keys, 10 ** n)])


def _affine(seed: int, stream: int, keys: np.ndarray, mod: int) -> list[int]:
    """x -> (a*x + b) mod m with gcd(a, m) = 1: injective on keys below m."""
    from math import gcd

    a = int(keyed_bits(seed, stream, np.array([1]))[0]) % mod or 1
    while gcd(a, mod) != 1:
        a += 1
    b = int(keyed_bits(seed, stream, np.array([2]))[0]) % mod
    return [(a * int(k) + b) % mod for k in np.asarray(keys)]


def _plates(seed: int, province: np.ndarray, vehicle_key: np.ndarray) -> list[str]:
    """Plates like 'B 1234 XYZ', unique per vehicle key (an affine bijection, as in _digits)."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    space = 9000 * len(letters) ** 3
    code = _affine(seed, S_VEH + 5, vehicle_key, space)
    out = []
    for prov, c in zip(province, code):
        num, rest = 1000 + c % 9000, c // 9000
        suffix = letters[rest % 23] + letters[(rest // 23) % 23] + letters[(rest // 529) % 23]
        out.append(f"{PLATE[prov]} {num} {suffix}")
    return out


def _address(seed: int, keys: np.ndarray) -> np.ndarray:
    u = keyed_uniform(seed, S_IDS + 7, keys)
    street = np.array(STREETS)[(u * len(STREETS)).astype(int)]
    no = (keyed_uniform(seed, S_IDS + 8, keys) * 150).astype(int) + 1
    return np.array([f"JL. {s} NO. {n}" for s, n in zip(street, no)])


def _ordinal(seed: int, k: int, keys: np.ndarray, wealth: np.ndarray, cuts: list[float],
             noise: float = 1.0) -> np.ndarray:
    """A proxy category driven by wealth plus the family's own fixed noise (stable across cycles)."""
    return np.digitize(wealth + noise * keyed_normal(seed, 100 + k, keys), cuts)


def vehicles(seed: int, f: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """Vehicles each family owns now: counts follow wealth; a vehicle's identity is keyed (family, slot)."""
    fk = f["family_key"].to_numpy()
    w = f["wealth"].to_numpy()
    n_moto = np.clip(np.round(0.9 + 0.55 * w + 0.8 * keyed_normal(seed, S_VEH, fk)), 0, 4).astype(int)
    car_score = -2.6 + 1.5 * w + 0.8 * keyed_normal(seed, S_VEH + 1, fk)
    n_car = np.where(car_score > 0, 1 + (car_score > 1.6) + (car_score > 3.2), 0)
    n_car = np.where(f["hidden_wealth"].to_numpy(), np.maximum(n_car, 1), n_car)
    heads = p.loc[p["relationship"] == HEAD].set_index("family_key")
    rows = []
    for kind, counts in (("SEPEDA MOTOR", n_moto), ("MOBIL PENUMPANG", n_car)):
        for slot in range(int(counts.max(initial=0))):
            sel = counts > slot
            vkey = fk[sel] * 16 + slot + (8 if kind != "SEPEDA MOTOR" else 0)
            rich = w[sel] + f["hidden_wealth"].to_numpy()[sel] * 2.0
            age = np.clip(np.round(keyed_uniform(seed, S_VEH + 2, vkey) * np.exp(1.8 - 0.35 * rich)), 0, 30)
            if kind == "SEPEDA MOTOR":
                cc = np.where(keyed_uniform(seed, S_VEH + 3, vkey) < sigmoid(rich - 2.5), 250, 110 + 15 * (
                    keyed_uniform(seed, S_VEH + 4, vkey) < 0.5))
                base = 18e6 + (cc - 110) * 0.25e6
            else:
                small = 1300 + 200 * (keyed_uniform(seed, S_VEH + 4, vkey) < 0.5)
                cc = np.select([rich > 3.2, rich > 2.2], [2400, 2000], small)
                base = np.select([cc >= 2400, cc >= 2000], [900e6, 450e6], 230e6)
            value = np.round(base * 0.88 ** age / 1e5) * 1e5
            rows.append(pd.DataFrame({"vehicle_key": vkey, "family_key": fk[sel], "jenis": kind, "cc": cc.astype(int),
                                      "age": age.astype(int), "value": value.astype(np.int64),
                                      "owner_key": heads.loc[fk[sel], "person_key"].to_numpy()}))
    if not rows:
        return pd.DataFrame(columns=["vehicle_key", "family_key", "jenis", "cc", "age", "value", "owner_key"])
    return pd.concat(rows, ignore_index=True)


def build_records(seed: int, cycle_index: int, ref_date, f: pd.DataFrame, p: pd.DataFrame,
                  regs: pd.DataFrame, ref: Reference, g: dict) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per source: (records as the agency writes them, truth: person_key, family_key, kinds)."""
    year = ref_date.year
    fw = f.set_index("family_key")
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    pk = p["person_key"].to_numpy()
    fmt = {s: FEEDS[s].date[1] if FEEDS[s].date else None for s in FEEDS}

    def truth(person_key, family_key, kinds=None):
        n = len(family_key)
        return pd.DataFrame({"person_key": np.asarray(person_key, dtype=np.int64),
                             "family_key": np.asarray(family_key, dtype=np.int64),
                             "kinds": [list(k) for k in kinds] if kinds is not None else [[] for _ in range(n)]})

    # --- Dukcapil: every living person, plus second registrations of some ------------------------
    status = np.where(p["married"], "KAWIN", np.where(p["age"] >= 17, np.where(p["relationship"] == HEAD,
                                                                                  "CERAI MATI", "BELUM KAWIN"),
                                                         "BELUM KAWIN"))
    occupation = np.where((p["age"] < 18) | p["enrolled"], np.where(p["age"] >= 5, "PELAJAR/MAHASISWA",
                                                                    "BELUM/TIDAK BEKERJA"),
                          pd.Series(p["sector"]).map(SECTOR_DUKCAPIL).to_numpy())
    occupation = np.where((occupation == "BELUM/TIDAK BEKERJA") & p["female"] & (p["age"] >= 18),
                          "MENGURUS RUMAH TANGGA", occupation)
    addr = _address(seed, fw.loc[p["family_key"], "kk"].str.slice(6).astype(np.int64).to_numpy())
    duk = pd.DataFrame({
        "NIK": p["nik"], "NO_KK": p["kk"], "NAMA_LGKP": p["name"],
        "TMPT_LHR": ref.city_of_district(p["nik_district"].to_numpy()),
        "TGL_LHR": pd.DatetimeIndex(p["birth_date"]).strftime(fmt["dukcapil"]),
        "JENIS_KLMIN": np.where(p["female"], "PEREMPUAN", "LAKI-LAKI"),
        "STATUS_KAWIN": status, "STAT_HBKEL": p["relationship"].map(RELATIONSHIP_LABEL).to_numpy(),
        "PDDK_AKH": np.array(EDUCATION_LABEL)[p["education"].to_numpy()], "JENIS_PKRJN": occupation,
        "ALAMAT": addr, "KODE_DESA": p["village_code"]})
    duk_truth = truth(pk, p["family_key"])
    duk_truth["registration"] = "primary"
    alive_regs = regs.loc[regs["person_key"].isin(pk)] if len(regs) else regs
    if len(alive_regs):
        pr = p.set_index("person_key").loc[alive_regs["person_key"]]
        host = fw.loc[fw.index.intersection(alive_regs["kk_family_key"])]
        kk_fam = np.where(alive_regs["kk_family_key"].isin(host.index), alive_regs["kk_family_key"],
                          alive_regs["family_key"])
        d = pd.DataFrame({
            "NIK": alive_regs["nik"].to_numpy(), "NO_KK": fw.loc[kk_fam, "kk"].to_numpy(),
            "NAMA_LGKP": alive_regs["name"].to_numpy(),
            # the place of birth is the person's, not the new registration's: a second NIK does not
            # move where someone was born
            "TMPT_LHR": ref.city_of_district(pr["nik_district"].to_numpy()),
            "TGL_LHR": pd.DatetimeIndex(alive_regs["birth_date"]).strftime(fmt["dukcapil"]),
            "JENIS_KLMIN": np.where(alive_regs["female"], "PEREMPUAN", "LAKI-LAKI"),
            "STATUS_KAWIN": np.where(pr["married"], "KAWIN", "BELUM KAWIN"),
            # A double entry in the same KK repeats the relationship; elsewhere the person is a relative.
            "STAT_HBKEL": np.where(kk_fam == alive_regs["family_key"].to_numpy(),
                                   pr["relationship"].map(RELATIONSHIP_LABEL).to_numpy(), "FAMILI LAIN"),
            "PDDK_AKH": np.array(EDUCATION_LABEL)[pr["education"].to_numpy()],
            "JENIS_PKRJN": "BELUM/TIDAK BEKERJA", "ALAMAT": _address(seed, fw.loc[kk_fam, "kk"].str.slice(6)
                                                                     .astype(np.int64).to_numpy()),
            "KODE_DESA": fw.loc[kk_fam, "village_code"].to_numpy()})
        dt = truth(alive_regs["person_key"], alive_regs["family_key"],
                   [["duplicate_registration", *_dup_kinds(k)] for k in alive_regs["kind"]])
        dt["registration"] = "duplicate"
        order = np.argsort(np.concatenate([pk, alive_regs["person_key"].to_numpy()]), kind="stable")
        duk = pd.concat([duk, d], ignore_index=True).iloc[order].reset_index(drop=True)
        duk_truth = pd.concat([duk_truth, dt], ignore_index=True).iloc[order].reset_index(drop=True)
    out["dukcapil"] = (duk, duk_truth)

    # --- BPJS Kesehatan: JKN membership per person -------------------------------------------------
    wealth_p = fw.loc[p["family_key"], "wealth"].to_numpy()
    covered = keyed_uniform(seed, S_HEALTH, pk) < g["coverage"]["bpjs_kesehatan"] + 0.04 * (wealth_p < 0)
    fam_formal = p.groupby("family_key")["wage"].transform("max").to_numpy() > 0
    pbi = keyed_uniform(seed, S_HEALTH + 1, pk) < sigmoid(-0.8 - 1.6 * wealth_p)
    segmen = np.where(pbi, np.where(keyed_uniform(seed, S_HEALTH + 2, pk) < 0.8, "PBI-APBN", "PBI-APBD"),
                      np.where(fam_formal, "PPU", np.where(keyed_uniform(seed, S_HEALTH + 3, pk) < 0.08, "BP", "PBPU")))
    kelas = np.where(pbi, "3", np.clip(3 - np.digitize(wealth_p + 0.7 * keyed_normal(seed, S_HEALTH + 4, pk),
                                                       [0.8, 2.0]), 1, 3).astype(str))
    c = covered
    pc = p.loc[c]
    bp = pd.DataFrame({
        "noKartu": np.char.add("000", _digits(seed, S_IDS + 1, pc["person_key"].to_numpy(), 10)),
        "nik": pc["nik"].to_numpy(), "namaPeserta": pc["name"].to_numpy(),
        "tglLahir": pd.DatetimeIndex(pc["birth_date"]).strftime(fmt["bpjs_kesehatan"]),
        "jenisKelamin": np.where(pc["female"], "P", "L"), "kdSegmen": segmen[c], "kelasRawat": kelas[c],
        "statusPeserta": np.where(keyed_uniform(seed, S_HEALTH + 5, pc["person_key"].to_numpy()) < 0.93, "AKTIF",
                                  "TIDAK AKTIF"),
        "kdDati2": pc["village_code"].str.slice(0, 4).to_numpy()})
    out["bpjs_kesehatan"] = (bp, truth(pc["person_key"], pc["family_key"]))

    # --- Dapodik: enrolled pupils -------------------------------------------------------------------
    pu = p.loc[p["enrolled"]]
    age = pu["age"].to_numpy()
    jenjang = np.select([age <= 12, age <= 15], ["SD", "SMP"], "SMA")
    dap = pd.DataFrame({
        "peserta_didik_id": _digits(seed, S_IDS + 2, pu["person_key"].to_numpy(), 12),
        "nisn": _digits(seed, S_IDS + 3, pu["person_key"].to_numpy(), 10), "nik": pu["nik"].to_numpy(),
        "nama": pu["name"].to_numpy(), "jenis_kelamin": np.where(pu["female"], "P", "L"),
        "tempat_lahir": ref.city_of_district(pu["nik_district"].to_numpy()),
        "tanggal_lahir": pd.DatetimeIndex(pu["birth_date"]).strftime(fmt["dapodik"]),
        "bentuk_pendidikan": jenjang, "tingkat_pendidikan": np.clip(age - 6, 1, 12),
        "npsn": np.char.add("2", _digits(seed, S_IDS + 4, pu["village_code"].str.slice(0, 6).astype(np.int64)
                                         .to_numpy() * 3 + (jenjang == "SMP") + 2 * (jenjang == "SMA"), 7)),
        "kode_wilayah": pu["village_code"].str.slice(0, 6).to_numpy(), "status": "Aktif"})
    out["dapodik"] = (dap, truth(pu["person_key"], pu["family_key"]))

    # --- DJP: annual tax returns (SPT) of those above the non-taxable threshold ---------------------
    biz = np.where((p["relationship"] == HEAD).to_numpy() & (p["wage"].to_numpy() == 0),
                   np.exp(fw.loc[p["family_key"], "lpcc"].to_numpy()) * fw.loc[p["family_key"], "size"].to_numpy()
                   * 14 * (keyed_uniform(seed, S_TAX, pk) < sigmoid(wealth_p - 1.5)), 0)
    hidden = fw.loc[p["family_key"], "hidden_wealth"].to_numpy() & (p["relationship"] == HEAD).to_numpy()
    annual = p["wage"].to_numpy() * 12 + biz + hidden * 400e6
    ptkp = 54e6 + 4.5e6 * p["married"].to_numpy()
    files = annual > ptkp
    pt = p.loc[files]
    taxable = np.maximum(annual[files] - ptkp[files], 0)
    pph = _pph21(taxable)
    djp = pd.DataFrame({
        "npwp15": _digits(seed, S_IDS + 5, pt["person_key"].to_numpy(), 15), "nik": pt["nik"].to_numpy(),
        "nama_wp": pt["name"].to_numpy(), "tahun_pajak": year - 2,
        "jenis_spt": np.where(annual[files] > 60e6, "1770 S", "1770 SS"),
        "penghasilan_neto": np.round(annual[files] / 1000).astype(np.int64) * 1000,
        "pph_terutang": np.round(pph).astype(np.int64),
        # the last return filed before the cycle: tax year Y-2, filed in March-April of Y-1
        "tanggal_lapor": (pd.Timestamp(year - 1, 3, 1) + pd.to_timedelta(
            (keyed_uniform(seed, S_TAX + 1, pt["person_key"].to_numpy()) * 30).astype(int), unit="D"))
        .strftime(fmt["djp"])})
    out["djp"] = (djp, truth(pt["person_key"], pt["family_key"]))

    # --- BPJS Ketenagakerjaan: formal workers -------------------------------------------------------
    pw = p.loc[p["wage"] > 0]
    tk = pd.DataFrame({
        "KPJ": _digits(seed, S_IDS + 6, pw["person_key"].to_numpy(), 11), "NIK": pw["nik"].to_numpy(),
        "NAMA_TK": pw["name"].to_numpy(),
        "TGL_LAHIR": pd.DatetimeIndex(pw["birth_date"]).strftime(fmt["bpjs_ketenagakerjaan"]),
        "NPP": np.char.add("NPP", _digits(seed, S_IDS + 9, pw["village_code"].str.slice(0, 4).astype(np.int64)
                                          .to_numpy() * 7 + pw["sector"].map(
            {k: i for i, k in enumerate(SECTOR_BPJSTK)}).to_numpy(), 8)),
        "KATEGORI_PEMBERI_KERJA": pw["sector"].map(SECTOR_BPJSTK).to_numpy(), "UPAH": pw["wage"].to_numpy(),
        "STATUS": "AKTIF"})
    out["bpjs_ketenagakerjaan"] = (tk, truth(pw["person_key"], pw["family_key"]))

    # --- Samsat: vehicle registrations ---------------------------------------------------------------
    veh = vehicles(seed, f, p)
    owner = p.set_index("person_key").loc[veh["owner_key"]]
    vf = fw.loc[veh["family_key"]]
    sam = pd.DataFrame({
        "nopol": _plates(seed, vf["province_code"].to_numpy(), veh["vehicle_key"].to_numpy()),
        "nik_pemilik": owner["nik"].to_numpy(), "nama_pemilik": owner["name"].to_numpy(),
        "jenis_kendaraan": veh["jenis"].to_numpy(), "isi_silinder": veh["cc"].to_numpy(),
        "tahun_pembuatan": year - veh["age"].to_numpy(), "nilai_jual": veh["value"].to_numpy(),
        "tgl_daftar": (pd.Timestamp(year, 1, 1) - pd.to_timedelta(veh["age"].to_numpy() * 365 + 30, unit="D"))
        .strftime(fmt["samsat"]),
        "kode_wilayah": vf["village_code"].to_numpy()})
    out["samsat"] = (sam, truth(veh["owner_key"], veh["family_key"]))

    # --- PLN: household connections -----------------------------------------------------------------
    fk = f["family_key"].to_numpy()
    w = f["wealth"].to_numpy()
    conn = keyed_uniform(seed, S_PLN, fk) < g["coverage"]["pln"] + 0.02 * (w > 0)
    va_idx = _ordinal(seed, 40, fk, w, [-0.6, 0.5, 1.5, 2.4, 3.2], noise=0.8)
    va = np.array([450, 900, 1300, 2200, 3500, 5500])[va_idx]
    kwh = va * 0.075 * np.exp(0.3 * keyed_normal(seed, S_PLN + 1, fk) + 0.02 * cycle_index)
    heads = p.loc[p["relationship"] == HEAD].set_index("family_key")
    fc = f.loc[conn]
    hd = heads.loc[fc["family_key"]]
    vc = fc["village_code"].to_numpy()
    pln = pd.DataFrame({
        "IDPEL": np.char.add("5", _digits(seed, S_IDS + 10, fc["family_key"].to_numpy(), 11)),
        "NIK": hd["nik"].to_numpy(), "NAMA": hd["name"].to_numpy(),
        "ALAMAT": _address(seed, fc["kk"].str.slice(6).astype(np.int64).to_numpy()),
        "KODE_WILAYAH": [f"{v[:2]}.{v[2:4]}.{v[4:6]}.{v[6:]}" for v in vc],
        "TARIF": np.where(va[conn] <= 900, np.where(va[conn] == 450, "R1/450", "R1/900"),
                          np.where(va[conn] <= 2200, "R1M", "R2")),
        "DAYA": va[conn], "KWH_RATA2": [f"{x:.1f}".replace(".", ",") for x in kwh[conn]],
        "TGL_PASANG": (pd.Timestamp(2000, 1, 1) + pd.to_timedelta(
            (keyed_uniform(seed, S_PLN + 2, fc["family_key"].to_numpy()) * 9000).astype(int), unit="D"))
        .strftime(fmt["pln"])})
    out["pln"] = (pln, truth(hd["person_key"], fc["family_key"]))

    # --- Regsosek: the socio-economic survey, answered by the family (hidden wealth understates) ----
    out["regsosek"] = _regsosek(seed, ref_date, f, p, veh, heads)

    # --- Susenas: measured consumption for a small sample (training labels) --------------------------
    fs = f.loc[f["susenas"]]
    hs = heads.loc[fs["family_key"]]
    measured = fs["pcc"].to_numpy() * np.exp(0.12 * keyed_normal(seed, 390 + cycle_index, fs["family_key"].to_numpy()))
    sus = pd.DataFrame({
        "URUT": _digits(seed, S_IDS + 11, fs["family_key"].to_numpy() * 100 + cycle_index, 10),
        "KODE_PROV": fs["province_code"].to_numpy(), "KODE_KAB": fs["village_code"].str.slice(0, 4).to_numpy(),
        "R105": np.where(fs["urban"], 1, 2), "NO_KK": fs["kk"].to_numpy(), "NIK_KRT": hs["nik"].to_numpy(),
        "JML_ART": fs["size"].to_numpy(), "PENGELUARAN_KAPITA": np.round(measured).astype(np.int64),
        "WERT": np.round(1 / g["coverage"]["susenas"], 1)})
    out["susenas"] = (sus, truth(hs["person_key"], fs["family_key"]))
    return out


def _dup_kinds(kind: str) -> list[str]:
    """'typo+date_swap' -> ['name_typo', 'date_swap']: the same names agency name variants use."""
    return [k if k == "date_swap" else f"name_{k}" for k in kind.split("+") if k != "same_name"]


def _pph21(taxable: np.ndarray) -> np.ndarray:
    """Progressive personal income tax (UU HPP brackets)."""
    brackets = [(60e6, 0.05), (250e6, 0.15), (500e6, 0.25), (5e9, 0.30), (np.inf, 0.35)]
    tax = np.zeros_like(taxable, dtype=float)
    lower = 0.0
    for upper, rate in brackets:
        tax += np.clip(taxable - lower, 0, upper - lower) * rate
        lower = upper
    return tax


def _regsosek(seed: int, ref_date, f: pd.DataFrame, p: pd.DataFrame, veh: pd.DataFrame,
              heads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """~40 proxy-means variables per surveyed family, in the survey's numeric codes."""
    fs = f.loc[f["surveyed"]].reset_index(drop=True)
    fk = fs["family_key"].to_numpy()
    # What the family lets the enumerator see: hidden-wealth families present themselves as poor.
    w = fs["wealth"].to_numpy() - 2.8 * fs["hidden_wealth"].to_numpy()
    hd = heads.loc[fk]
    mem = p.loc[p["family_key"].isin(fk)]
    by_f = mem.groupby("family_key")
    n_work = by_f["sector"].apply(lambda s: int((s != "TIDAK BEKERJA").sum())).reindex(fk).to_numpy()
    n_school = by_f["enrolled"].sum().reindex(fk).to_numpy()
    n_dis = by_f["disabled"].sum().reindex(fk).to_numpy()
    n_preg = by_f["pregnant"].sum().reindex(fk).fillna(0).astype(int).to_numpy()
    n_u5 = mem.loc[mem["age"] < 5].groupby("family_key").size().reindex(fk).fillna(0).to_numpy()
    veh_own = veh.groupby(["family_key", "jenis"]).size().unstack(fill_value=0)
    moto = veh_own.get("SEPEDA MOTOR", pd.Series(dtype=int)).reindex(fk).fillna(0).to_numpy()
    car = veh_own.get("MOBIL PENUMPANG", pd.Series(dtype=int)).reindex(fk).fillna(0).to_numpy()
    car = np.where(fs["hidden_wealth"].to_numpy(), 0, car)

    def has(k: int, cut: float, noise: float = 1.0) -> np.ndarray:
        return (_ordinal(seed, k, fk, w, [cut], noise) == 1).astype(np.int8)

    rural = ~fs["urban"].to_numpy()
    area = np.round(np.exp(3.4 + 0.22 * w + 0.1 * np.log(fs["size"].to_numpy())
                           + 0.35 * keyed_normal(seed, 150, fk)))
    rec = pd.DataFrame({
        "id_keluarga": _digits(seed, S_IDS + 12, fk, 12), "no_kk": fs["kk"].to_numpy(), "nik_krt": hd["nik"].to_numpy(),
        "nama_krt": hd["name"].to_numpy(), "kode_desa": fs["village_code"].to_numpy(),
        "tgl_pencacahan": (pd.Timestamp(ref_date) - pd.to_timedelta(
            (keyed_uniform(seed, 151, fk) * 150).astype(int) + 10, unit="D")).strftime("%Y-%m-%d"),
        "jml_art": fs["size"].to_numpy(), "jk_krt": np.where(hd["female"], 2, 1), "umur_krt": hd["age"].to_numpy(),
        "pendidikan_krt": hd["education"].to_numpy(),
        "lapangan_usaha_krt": pd.Series(hd["sector"].to_numpy()).map(
            {"PERTANIAN": 1, "INFORMAL": 2, "SWASTA": 3, "ASN": 4, "TNI": 4, "POLRI": 4, "BUMN": 3, "BUMD": 3,
             "TIDAK BEKERJA": 0}).to_numpy(),
        "status_kepemilikan_rumah": 1 + _ordinal(seed, 1, fk, -w, [-0.5, 0.8, 1.6]),
        "luas_lantai": area.astype(int),
        "jenis_lantai": 1 + _ordinal(seed, 2, fk, w, [-1.3, -0.3, 0.6, 1.6]),
        "jenis_dinding": 1 + _ordinal(seed, 3, fk, w, [-1.2, -0.2, 0.9]),
        "jenis_atap": 1 + _ordinal(seed, 4, fk, w, [-1.5, -0.4, 0.8, 2.0]),
        "sumber_air_minum": 1 + _ordinal(seed, 5, fk, w - 0.4 * rural, [-1.0, 0.0, 0.9, 1.8]),
        "fasilitas_bab": 1 + _ordinal(seed, 6, fk, w, [-1.4, -0.5, 0.2]),
        "jenis_kloset": 1 + _ordinal(seed, 7, fk, w, [-1.2, -0.1]),
        "pembuangan_tinja": 1 + _ordinal(seed, 8, fk, w - 0.3 * rural, [-1.0, 0.3]),
        "sumber_penerangan": 1 + _ordinal(seed, 9, fk, w, [-2.3, -1.6]),
        "daya_listrik": 1 + _ordinal(seed, 40, fk, w, [-0.6, 0.5, 1.5, 2.4, 3.2], noise=0.8),
        "bahan_bakar_masak": 1 + _ordinal(seed, 10, fk, w - 0.5 * rural, [-1.3, -0.4, 1.2, 2.5]),
        "aset_tabung_gas": has(11, -0.6), "aset_kulkas": has(12, 0.1), "aset_ac": has(13, 1.8),
        "aset_pemanas_air": has(14, 2.0), "aset_telepon_rumah": has(15, 2.3), "aset_televisi": has(16, -0.9),
        "aset_emas": has(17, 1.0, 1.3), "aset_komputer": has(18, 1.3), "aset_sepeda": has(19, -0.3, 1.5),
        "aset_sepeda_motor": moto.astype(np.int8), "aset_mobil": car.astype(np.int8),
        "aset_perahu": (has(20, 0.5, 1.5) * rural * (keyed_uniform(seed, 152, fk) < 0.1)).astype(np.int8),
        "aset_lahan": (has(21, 0.0, 1.4) | (rural & (keyed_uniform(seed, 153, fk) < 0.4))).astype(np.int8),
        "aset_rumah_lain": has(22, 2.1, 1.2),
        "jumlah_sapi": np.where(rural, np.clip(_ordinal(seed, 23, fk, w, [0.5, 1.5, 2.5], 1.5) - 1, 0, 3), 0),
        "jumlah_kambing": np.where(rural, np.clip(_ordinal(seed, 24, fk, w, [0.0, 1.0], 1.5), 0, 3), 0),
        "jumlah_unggas": np.where(rural, (np.clip(keyed_normal(seed, 154, fk) + 1.5, 0, None) * 4).astype(int), 0),
        "jml_art_bekerja": n_work, "jml_anak_sekolah": n_school, "jml_disabilitas_berat": n_dis,
        "jml_art_hamil": n_preg,
        "kunjungan_posyandu": np.where(n_u5 > 0, np.clip(np.round(4 + 0.8 * w + keyed_normal(seed, 155, fk)), 0, 6),
                                       0).astype(int),
        "kepemilikan_usaha": has(25, 0.6, 1.4),
        "rekening_bank": has(26, 0.2, 1.0),
        "akses_internet": has(27, -0.2, 1.0),
    })
    kinds = [["hidden_wealth"] if hw else [] for hw in fs["hidden_wealth"]]
    t = pd.DataFrame({"person_key": hd["person_key"].to_numpy(np.int64), "family_key": fk.astype(np.int64),
                      "kinds": kinds})
    return rec, t


# ------------------------------------------------------------------------------------------------
# Errors and serialization
# ------------------------------------------------------------------------------------------------

def inject_value_errors(rng: np.random.Generator, spec: FeedSpec, rec: pd.DataFrame, t: pd.DataFrame,
                        ref: Reference, prev_village: dict[int, str], g: dict) -> None:
    """Errors inside values that still parse: missing / mistyped NIK, name variants, stale address,
    and the malformed values validation must catch (bad NIK length, impossible date)."""
    e = g["errors"]
    n = len(rec)
    if n == 0:
        return
    kinds = t["kinds"]

    def mark(mask: np.ndarray, kind: str) -> None:
        for i in np.flatnonzero(mask):
            kinds.iat[i].append(kind)

    dup = np.array(["duplicate_registration" in k for k in kinds])
    if spec.source != "dukcapil" and spec.nik:
        nik = rec[spec.nik].to_numpy(dtype=object)
        missing = rng.random(n) < e["agency_nik_missing"].get(spec.source, 0.0)
        mistyped = ~missing & (rng.random(n) < e["agency_nik_mistyped"])
        for i in np.flatnonzero(mistyped):
            nik[i] = _mistype(rng, nik[i])
        nik[missing] = None
        rec[spec.nik] = nik
        mark(missing, "nik_missing")
        mark(mistyped, "nik_mistyped")
    if spec.name and spec.source != "dukcapil":
        names = rec[spec.name].to_numpy(dtype=object)
        for i in np.flatnonzero(rng.random(n) < e["agency_name_variant"]):
            kind = ["old_spelling", "muhammad_variant", "title", "typo"][rng.integers(0, 4)]
            new, changed = _variant(kind, names[i], rng)
            if changed:
                names[i] = new
                kinds.iat[i].append(f"name_{kind}")
        rec[spec.name] = names
    if spec.region and spec.source in ("samsat", "pln"):
        fam = t["family_key"].to_numpy()
        stale = (rng.random(n) < e["stale_address_rate"])
        col = rec[spec.region].to_numpy(dtype=object)
        for i in np.flatnonzero(stale):
            old = prev_village.get(int(fam[i]))
            if old is None:   # never moved: the agency has a neighbouring village of the same district
                same = ref.village_codes[np.searchsorted(ref.village_codes, col[i].replace(".", "")[:6])]
                old = same if same != col[i].replace(".", "") else None
            if old:
                col[i] = f"{old[:2]}.{old[2:4]}.{old[4:6]}.{old[6:]}" if spec.region_dots else old
                kinds.iat[i].append("stale_address")
        rec[spec.region] = col
    rate = e["malformed_row_rate"]
    if spec.nik:
        bad = ~dup & (rng.random(n) < rate["bad_nik_length"]) & rec[spec.nik].notna().to_numpy()
        nik = rec[spec.nik].to_numpy(dtype=object)
        for i in np.flatnonzero(bad):
            nik[i] = nik[i][:-1] if rng.random() < 0.5 else nik[i] + str(rng.integers(0, 10))
        rec[spec.nik] = nik
        mark(bad, "bad_nik_length")
    if spec.date:
        col, fmt = spec.date
        bad = ~dup & (rng.random(n) < rate["impossible_date"])
        vals = rec[col].to_numpy(dtype=object)
        for i in np.flatnonzero(bad):
            vals[i] = _impossible_date(vals[i], fmt)
        rec[col] = vals
        mark(bad, "impossible_date")


def _mistype(rng: np.random.Generator, nik: str) -> str:
    """One wrong digit in the serial or a transposition of two adjacent digits."""
    s = list(nik)
    if rng.random() < 0.5:
        i = int(rng.integers(12, 16))
        s[i] = str((int(s[i]) + int(rng.integers(1, 10))) % 10)
    else:
        i = int(rng.integers(6, 15))
        if s[i] == s[i + 1]:
            s[i] = str((int(s[i]) + 1) % 10)
        else:
            s[i], s[i + 1] = s[i + 1], s[i]
    return "".join(s)


def _impossible_date(value: str, fmt: str) -> str:
    """Keep the layout, break the calendar: day 31 of February, or month 13."""
    d = pd.Timestamp(2001, 2, 28)
    out = d.strftime(fmt).replace("28", "31") if "%d" in fmt else d.strftime(fmt)
    if "%d" not in fmt:
        out = out.replace("02", "13")
    return out


def _variant(kind: str, name: str, rng: np.random.Generator) -> tuple[str, bool]:
    return {"old_spelling": lambda: nm.to_old_spelling(name), "muhammad_variant": lambda: nm.vary_muhammad(name, rng),
            "title": lambda: nm.toggle_title(name, rng), "typo": lambda: nm.typo(name, rng)}[kind]()


def serialize(rng: np.random.Generator, spec: FeedSpec, rec: pd.DataFrame, t: pd.DataFrame,
              g: dict) -> tuple[bytes, np.ndarray]:
    """Bytes of the file as delivered, with row-level breakage; returns (bytes, delivered row mask)."""
    rate = g["errors"]["malformed_row_rate"]
    n = len(rec)
    kinds = t["kinds"]
    if spec.fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(rec, preserve_index=False), buf, compression="snappy")
        return buf.getvalue(), np.ones(n, bool)
    if spec.fmt == "csv":
        text = rec.to_csv(sep=spec.sep, index=False, lineterminator="\n")
        lines = text.split("\n")[:-1]
        header, rows = lines[0], lines[1:]
    else:
        header, rows = None, [json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                              for r in rec.to_dict(orient="records")]
    data = [r.encode("utf-8") for r in rows]
    broken_enc = rng.random(n) < rate["broken_encoding"]
    for i in np.flatnonzero(broken_enc):
        # A name byte from a Latin-1 system (0xC9 starts a UTF-8 sequence that never completes).
        data[i] = data[i].replace(b"A", b"\xc9", 1) if b"A" in data[i] else data[i] + b"\xc9"
        kinds.iat[i].append("broken_encoding")
    if spec.fmt == "csv":
        wrong = ~broken_enc & (rng.random(n) < rate["wrong_column_count"])
        for i in np.flatnonzero(wrong):
            sep = spec.sep.encode()
            data[i] = data[i] + sep + b"X" if rng.random() < 0.5 else data[i].rsplit(sep, 1)[0]
            kinds.iat[i].append("wrong_column_count")
    else:
        wrong = ~broken_enc & (rng.random(n) < rate["broken_json"])
        for i in np.flatnonzero(wrong):
            data[i] = data[i][:-1]
            kinds.iat[i].append("broken_json")
    body = b"\n".join(data) + (b"\n" if data else b"")
    if header is not None:
        body = header.encode("utf-8") + b"\n" + body
    return body, np.ones(n, bool)


def file_error(u: float, spec: FeedSpec, g: dict) -> str | None:
    """Which file-level fault (if any) this delivery has, from one uniform draw."""
    rates = g["errors"]["file_error_rate"]
    allowed = ["truncated", "empty"] + (["wrong_delimiter"] if spec.fmt == "csv" else []) + \
              (["wrong_encoding"] if spec.fmt in ("csv", "jsonl") else [])
    acc = 0.0
    for kind in allowed:
        acc += rates.get(kind, 0.0)
        if u < acc:
            return kind
    return None


def apply_file_error(kind: str | None, spec: FeedSpec, body: bytes, rec: pd.DataFrame, t: pd.DataFrame,
                     rng: np.random.Generator) -> bytes:
    """Break the whole file; the truth says which rows it cost."""
    kinds = t["kinds"]
    if kind is None or len(rec) == 0:
        return body
    if kind == "empty":
        for k in kinds:
            k.append("file_empty")
        return b""
    if kind == "wrong_encoding":
        for k in kinds:
            k.append("file_wrong_encoding")
        return body.decode("utf-8", errors="replace").encode("utf-16")
    if kind == "wrong_delimiter":
        for k in kinds:
            k.append("file_wrong_delimiter")
        other = "," if spec.sep != "," else ";"
        return rec.to_csv(sep=other, index=False, lineterminator="\n").encode("utf-8")
    # truncated: cut inside the second half of the file
    cut = int(len(body) * (0.5 + 0.45 * rng.random()))
    if spec.fmt == "parquet":
        for k in kinds:
            k.append("file_truncated")
        return body[:cut]
    header_len = 0 if spec.fmt == "jsonl" else body.index(b"\n") + 1
    cut = max(cut, header_len + 1)
    ends = np.cumsum([len(x) + 1 for x in body[header_len:].split(b"\n")[:len(rec)]]) + header_len
    for i, end in enumerate(ends):
        if end - 1 >= cut:                      # this row's newline is gone: row cut or lost
            start = header_len if i == 0 else ends[i - 1]
            kinds.iat[i].append("truncated_row" if start < cut else "file_truncated")
    return body[:cut]


def write_feed_file(path: str, body: bytes) -> str:
    """Write atomically (a half-written file must never look delivered); returns the SHA-256."""
    import hashlib

    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(body)
    os.replace(tmp, path)
    return hashlib.sha256(body).hexdigest()
