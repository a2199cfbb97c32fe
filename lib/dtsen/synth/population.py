"""The synthetic population of one chunk of families: founding, then evolution cycle by cycle.

A chunk is a fixed range of founding families; everything about it is a pure function of
(seed, chunk, cycle), so Spark can run chunks in any order on any executor and get the same
population. Founding draws come from a generator seeded by (seed, chunk); evolution steps (one per
quarter) from (seed, chunk, step); per-entity attributes that must not change between cycles come
from keyed randomness (see rng.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from dtsen.synth import names as nm
from dtsen.synth.rng import keyed_normal, keyed_uniform, probit, sigmoid

# Relationship to the head of the KK (Dukcapil's SHDK codes).
HEAD, HUSBAND, WIFE, CHILD, GRANDCHILD, PARENT = 1, 2, 3, 4, 6, 7
RELATIONSHIP_LABEL = {1: "KEPALA KELUARGA", 2: "SUAMI", 3: "ISTRI", 4: "ANAK", 6: "CUCU", 7: "ORANG TUA",
                      9: "FAMILI LAIN"}
EDUCATION_LABEL = ["TIDAK/BELUM SEKOLAH", "TAMAT SD/SEDERAJAT", "SLTP/SEDERAJAT", "SLTA/SEDERAJAT",
                   "DIPLOMA I/II/III", "DIPLOMA IV/STRATA I", "STRATA II/III"]
FAMILY_TYPES = ["single", "couple", "nuclear", "single_parent", "extended"]
MAX_MEMBERS = 16                  # founding person_key = family_key * 16 + member index
NEW_FAMILY_BASE = 1 << 40         # keys of families formed by marriage after founding
NEW_PERSON_BASE = 1 << 48         # keys of persons born after founding

# Streams of keyed randomness (never reuse a number for a different purpose).
S_DISABILITY, S_ENROL, S_SECTOR, S_WAGE, S_PREGNANT, S_DUP, S_MIGRANT, S_HIDDEN = range(1, 9)
S_SURVEY, S_SUSENAS, S_EMPLOY, S_EDU = range(9, 13)
S_PROXY = 100                     # S_PROXY + k: noise of proxy k


@dataclass
class Reference:
    """What every chunk needs to know about the country, built once on the driver and shipped."""

    village_codes: np.ndarray       # str, sorted by province
    village_district: np.ndarray    # str
    village_urban: np.ndarray       # bool
    province_codes: np.ndarray      # str
    province_p: np.ndarray          # population share
    province_mu: np.ndarray         # mean log pcc before the calibration shift
    village_cum: np.ndarray         # province index + cumulative weight within province, in [p, p+1)
    province_first: np.ndarray      # index of the province's first village
    province_count: np.ndarray
    district_codes: np.ndarray      # unique districts, sorted
    district_city: np.ndarray       # regency / city name of each district (birth places, addresses)
    shift: float = 0.0              # calibration of log pcc so the poverty share hits the target

    @classmethod
    def build(cls, villages: pd.DataFrame, regions_conf: dict, gen_conf: dict) -> Reference:
        v = villages.sort_values("village_code").reset_index(drop=True)
        provs = sorted(regions_conf["provinces"])
        missing = set(provs) ^ set(v["province_code"].unique())
        if missing:
            from dtsen.config import ConfigError
            raise ConfigError(f"regions.provinces in conf does not match the Kemendagri list: {sorted(missing)}")
        pop = np.array([regions_conf["provinces"][p]["population_k"] for p in provs], dtype=float)
        pov = np.array([regions_conf["provinces"][p]["poverty_pct"] for p in provs], dtype=float) / 100
        sigma = _sigma_total(gen_conf)
        mu = np.log(gen_conf["poverty_line"]) - sigma * np.array([probit(x) for x in pov])
        w = np.where(v["village_type"] == "kelurahan", float(regions_conf["kelurahan_weight"]), 1.0)
        prov_idx = v["province_code"].map({p: i for i, p in enumerate(provs)}).to_numpy()
        cum = np.zeros(len(v))
        first = np.zeros(len(provs), dtype=np.int64)
        count = np.zeros(len(provs), dtype=np.int64)
        for i in range(len(provs)):
            sel = np.flatnonzero(prov_idx == i)
            first[i], count[i] = sel[0], len(sel)
            cw = np.cumsum(w[sel])
            cum[sel] = i + np.concatenate([[0.0], cw[:-1]]) / cw[-1]
        d = v.drop_duplicates("district_code").sort_values("district_code")
        city = d["regency_name"].str.replace(r"^(Kabupaten|Kota) ", "", regex=True).str.upper()
        return cls(v["village_code"].to_numpy(), v["district_code"].to_numpy(), v["is_urban"].to_numpy(),
                   np.array(provs), pop / pop.sum(), mu, cum, first, count,
                   d["district_code"].to_numpy(), city.to_numpy())

    def city_of_district(self, district: np.ndarray) -> np.ndarray:
        return self.district_city[np.searchsorted(self.district_codes, district)]

    def pick_villages(self, prov_idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.village_cum, prov_idx + u, side="right") - 1

    def province_of_village(self, vidx: np.ndarray) -> np.ndarray:
        return np.floor(self.village_cum[vidx]).astype(np.int64)


def _sigma_total(g: dict) -> float:
    c = g["consumption"]
    return float(np.sqrt(c["sigma_observed"] ** 2 + c["sigma_unobserved"] ** 2 + 0.15 ** 2))


@dataclass
class ChunkState:
    """Families and persons of one chunk (all ever created; `alive` marks the current ones)."""

    chunk: int
    families: pd.DataFrame
    persons: pd.DataFrame
    registrations: pd.DataFrame     # second Dukcapil registrations (same person, another NIK)
    step: int = 0
    new_families: int = 0
    extra: dict = field(default_factory=dict)


def _ages_to_birth_dates(rng: np.random.Generator, ages: np.ndarray, ref: date) -> np.ndarray:
    ref64 = np.datetime64(ref, "D")
    days = (ages * 365.25 + rng.integers(0, 365, len(ages))).astype(np.int64)
    return ref64 - days.astype("timedelta64[D]")


def nik_prefix(district: np.ndarray, birth: np.ndarray, female: np.ndarray) -> np.ndarray:
    """District (6) + DDMMYY with 40 added to the day for women: the NIK's first 12 digits."""
    b = pd.DatetimeIndex(birth)
    day = b.day.to_numpy() + np.where(female, 40, 0)
    return (pd.Series(district).str.cat([
        pd.Series(day).map("{:02d}".format), pd.Series(b.month).map("{:02d}".format),
        pd.Series(b.year % 100).map("{:02d}".format)]) ).to_numpy()


def assign_serials(prefix_new: np.ndarray, prefix_existing: np.ndarray, chunk: int) -> np.ndarray:
    """4-digit serials unique per 12-digit prefix across chunks: chunk c owns serials 9c+1..9c+9 (mod 1000
    chunks) in every cell; the rare 10th holder of a cell in one chunk spills into 9001-9999."""
    seen = pd.Series(prefix_existing).value_counts()
    base = pd.Series(prefix_new).map(seen).fillna(0).to_numpy(dtype=np.int64)
    local = base + pd.Series(prefix_new).groupby(prefix_new).cumcount().to_numpy()
    serial = np.where(local < 9, 1 + (chunk % 1000) * 9 + local, 9001 + (chunk * 7 + local) % 999)
    return np.array([f"{s:04d}" for s in serial]) if len(serial) else np.array([], dtype=str)


def found_chunk(seed: int, chunk: int, n_families: int, ref: Reference, g: dict, founding: date) -> ChunkState:
    rng = np.random.default_rng([seed, chunk, 0])
    fam_key = np.arange(n_families, dtype=np.int64) + chunk * g["chunk_families"]
    prov = rng.choice(len(ref.province_codes), n_families, p=ref.province_p)
    vidx = ref.pick_villages(prov, rng.random(n_families))
    urban = ref.village_urban[vidx]
    fcfg = g["family"]
    shares = np.array([fcfg["type_shares"][t] for t in FAMILY_TYPES], dtype=float)
    ftype = rng.choice(len(FAMILY_TYPES), n_families, p=shares / shares.sum())

    # Head: age by family type; sex mostly male except single and single-parent families.
    head_age = np.select(
        [ftype == 0, ftype == 1, ftype == 2, ftype == 3, ftype == 4],
        [rng.uniform(19, 88, n_families), rng.uniform(21, 82, n_families), rng.uniform(23, 62, n_families),
         rng.uniform(24, 66, n_families), rng.uniform(30, 62, n_families)])
    head_female = np.select([ftype == 0, ftype == 3], [rng.random(n_families) < 0.45, rng.random(n_families) < 0.75],
                            rng.random(n_families) < fcfg["female_head_share_nuclear"])
    has_spouse = np.isin(ftype, [1, 2, 4])
    spouse_age = np.clip(head_age + np.where(head_female, 3, -3) + rng.normal(0, 4, n_families), 17, 95)
    n_child = np.where(np.isin(ftype, [2, 3, 4]),
                       np.clip(1 + rng.poisson(fcfg["children_mean"] - 1, n_families), 1, fcfg["children_max"]), 0)
    mother_age = np.where(head_female | ~has_spouse, head_age, spouse_age)
    has_parent = ftype == 4

    rows = []   # (family index, member index, relationship, female, age)
    fi = np.arange(n_families)
    rows.append((fi, np.zeros(n_families, int), np.full(n_families, HEAD), head_female, head_age))
    s = fi[has_spouse]
    rows.append((s, np.ones(len(s), int), np.where(head_female[s], HUSBAND, WIFE), ~head_female[s], spouse_age[s]))
    for k in range(int(n_child.max(initial=0))):
        c = fi[n_child > k]
        max_age = np.maximum(mother_age[c] - 17, 0.2)
        age = np.minimum(max_age * rng.random(len(c)) ** 0.8, 30)
        rows.append((c, np.full(len(c), 2 + k), np.full(len(c), CHILD), rng.random(len(c)) < 0.49, age))
    p = fi[has_parent]
    rows.append((p, np.full(len(p), 2 + fcfg["children_max"]), np.full(len(p), PARENT), rng.random(len(p)) < 0.6,
                 np.clip(head_age[p] + rng.uniform(20, 34, len(p)), 60, 98)))
    f_idx = np.concatenate([r[0] for r in rows])
    persons = pd.DataFrame({
        "person_key": fam_key[f_idx] * MAX_MEMBERS + np.concatenate([r[1] for r in rows]),
        "family_key": fam_key[f_idx],
        "relationship": np.concatenate([r[2] for r in rows]).astype(np.int8),
        "female": np.concatenate([r[3] for r in rows]).astype(bool),
        "age0": np.concatenate([r[4] for r in rows]),
    }).sort_values("person_key", kind="stable").reset_index(drop=True)
    persons["birth_date"] = _ages_to_birth_dates(rng, persons["age0"].to_numpy(), founding)
    by = pd.DatetimeIndex(persons["birth_date"]).year.to_numpy()
    persons["name"] = nm.generate_names(rng, persons["female"].to_numpy(), by)
    persons["alive"] = True
    persons["born_step"] = 0
    persons["died_step"] = -1
    persons["married"] = persons["relationship"].isin([HEAD, HUSBAND, WIFE]) & persons["family_key"].map(
        pd.Series(has_spouse, index=fam_key))
    pk = persons["person_key"].to_numpy()
    # Head's schooling: younger and urban people stayed longer in school.
    fam_of = pd.Series(np.arange(n_families), index=fam_key)
    pf = fam_of[persons["family_key"]].to_numpy()
    edu_latent = keyed_normal(seed, S_EDU, pk) + 0.035 * (by - 1975) + 0.5 * urban[pf]
    persons["education"] = np.digitize(edu_latent, [-1.6, -0.6, 0.1, 1.1, 1.4, 2.3]).astype(np.int8)
    persons.loc[persons["age0"] < 7, "education"] = 0

    # Birth district in the NIK: mostly the family's district; migrants elsewhere in the province or
    # (a third of them) elsewhere in the country.
    fam_district = ref.village_district[vidx]
    nik_district = fam_district[pf].copy()
    mig = (keyed_uniform(seed, S_MIGRANT, pk) < g["people"]["migrant_nik_share"]) & (persons["age0"].to_numpy() >= 17)
    far = rng.random(len(pk)) < 0.33
    other_prov = np.where(far, rng.choice(len(ref.province_codes), len(pk), p=ref.province_p), prov[pf])
    other_v = ref.pick_villages(other_prov, rng.random(len(pk)))
    nik_district[mig] = ref.village_district[other_v][mig]
    persons["nik_district"] = nik_district
    prefix = nik_prefix(nik_district, persons["birth_date"].to_numpy(), persons["female"].to_numpy())
    persons["nik"] = prefix + assign_serials(prefix, np.array([], dtype=str), chunk)

    families = pd.DataFrame({"family_key": fam_key, "province_idx": prov, "village_idx": vidx,
                             "prev_village_idx": -1, "ftype": ftype, "formed_step": 0, "alive": True})
    head_edu = persons.loc[persons["relationship"] == HEAD].set_index("family_key")["education"]
    families["head_education"] = head_edu.reindex(fam_key).to_numpy()
    size = persons.groupby("family_key").size().reindex(fam_key).to_numpy()
    families["lpcc_obs"], families["lpcc_unobs"] = _draw_consumption(seed, rng, families, size, urban, ref, g)
    families["hidden_wealth"] = False
    families["kk"] = _kk_numbers(rng, fam_district, chunk, np.array([], dtype=str), founding)
    state = ChunkState(chunk, families, persons, pd.DataFrame())
    _mark_hidden_wealth(seed, state, g)
    state.registrations = _duplicate_registrations(seed, rng, state, ref, g)
    return state


def _draw_consumption(seed: int, rng: np.random.Generator, fam: pd.DataFrame, size: np.ndarray,
                      urban: np.ndarray, ref: Reference, g: dict) -> tuple[np.ndarray, np.ndarray]:
    c = g["consumption"]
    n = len(fam)
    structure = (c["urban_premium"] * (urban - 0.45) + c["education_step"] * (fam["head_education"].to_numpy() - 2.2)
                 + c["size_elasticity"] * (np.log(size) - 1.0))
    tail = (rng.random(n) < c["upper_tail_share"]) * rng.exponential(c["upper_tail_lift"], n)
    obs = ref.province_mu[fam["province_idx"].to_numpy()] + ref.shift + structure + tail \
        + rng.normal(0, c["sigma_observed"], n)
    unobs = rng.normal(0, c["sigma_unobserved"], n)
    return obs, unobs


def _kk_numbers(rng: np.random.Generator, district: np.ndarray, chunk: int, existing: np.ndarray,
                ref_date: date) -> np.ndarray:
    """KK number: district (6) + issue date DDMMYY + 4-digit serial."""
    n = len(district)
    issued = np.datetime64(ref_date, "D") - rng.integers(30, 20 * 365, n).astype("timedelta64[D]")
    d = pd.DatetimeIndex(issued)
    prefix = (pd.Series(district).str.cat([pd.Series(d.day).map("{:02d}".format),
                                           pd.Series(d.month).map("{:02d}".format),
                                           pd.Series(d.year % 100).map("{:02d}".format)])).to_numpy()
    return prefix + assign_serials(prefix, existing, chunk)


def _mark_hidden_wealth(seed: int, state: ChunkState, g: dict) -> None:
    """A few rich families answer the survey as if poor; their cars and tax still show in admin data."""
    f = state.families
    lp = f["lpcc_obs"] + f["lpcc_unobs"]
    rich = lp.to_numpy() > np.log(g["poverty_line"]) + 1.1
    u = keyed_uniform(seed, S_HIDDEN, f["family_key"].to_numpy())
    share_rich = max(rich.mean(), 1e-9)
    f["hidden_wealth"] = rich & (u < g["hidden_wealth_rate"] / max(share_rich, 0.15))


def _duplicate_registrations(seed: int, rng: np.random.Generator, state: ChunkState, ref: Reference,
                             g: dict) -> pd.DataFrame:
    """Second Dukcapil registrations of adults: another NIK, a name variant, sometimes swapped day/month."""
    e = g["errors"]
    p = state.persons
    pk = p["person_key"].to_numpy()
    dup = (keyed_uniform(seed, S_DUP, pk) < e["duplicate_registration_rate"]) & (p["age0"].to_numpy() >= 17)
    d = p.loc[dup, ["person_key", "family_key", "female", "birth_date", "name", "nik_district"]].copy()
    if d.empty:
        return d.assign(kind=pd.Series(dtype=str), nik=pd.Series(dtype=str), kk_family_key=pd.Series(dtype=np.int64))
    kinds = list(e["duplicate_variant_weights"])
    w = np.array([e["duplicate_variant_weights"][k] for k in kinds], dtype=float)
    chosen = rng.choice(len(kinds), len(d), p=w / w.sum())
    new_names, applied = [], []
    for name, k in zip(d["name"].tolist(), chosen):
        kind = kinds[k]
        new, changed = _apply_variant(kind, name, rng)
        if not changed and kind != "same_name":          # fall back to a typo so the kind is honest
            new, changed = nm.typo(name, rng)
            kind = "typo" if changed else "same_name"
        new_names.append(new)
        applied.append(kind)
    d["name"] = new_names
    kinds_out = np.array(applied, dtype=object)
    # Registered again elsewhere: another district of the same province (the region of a move).
    fam = state.families.set_index("family_key")
    prov = fam.loc[d["family_key"], "province_idx"].to_numpy()
    other_v = ref.pick_villages(prov, rng.random(len(d)))
    d["nik_district"] = ref.village_district[other_v]
    bd = pd.DatetimeIndex(d["birth_date"])
    swap = (rng.random(len(d)) < e["duplicate_date_swap_rate"]) & (bd.day <= 12) & (bd.day != bd.month)
    swapped = pd.to_datetime(pd.DataFrame({"year": bd.year, "month": bd.day, "day": bd.month}), errors="coerce")
    d["birth_date"] = np.where(swap, swapped.to_numpy(), d["birth_date"].to_numpy()).astype("datetime64[ns]")
    kinds_out = np.where(swap, kinds_out + "+date_swap", kinds_out)
    d["kind"] = kinds_out
    prefix = nik_prefix(d["nik_district"].to_numpy(), d["birth_date"].to_numpy(), d["female"].to_numpy())
    existing = state.persons["nik"].str.slice(0, 12).to_numpy()
    d["nik"] = prefix + assign_serials(prefix, existing, state.chunk)
    # Same KK (double entry) or another family of the chunk in the same province (re-registered there).
    same = rng.random(len(d)) < e["duplicate_same_kk_rate"]
    fk = state.families["family_key"].to_numpy()
    fprov = state.families["province_idx"].to_numpy()
    other = np.array([rng.choice(fk[fprov == pv]) for pv in prov]) if len(d) else np.array([], np.int64)
    d["kk_family_key"] = np.where(same, d["family_key"].to_numpy(), other)
    return d.reset_index(drop=True)


def _apply_variant(kind: str, name: str, rng: np.random.Generator) -> tuple[str, bool]:
    if kind == "old_spelling":
        return nm.to_old_spelling(name)
    if kind == "muhammad_variant":
        return nm.vary_muhammad(name, rng)
    if kind == "title":
        return nm.toggle_title(name, rng)
    if kind == "typo":
        return nm.typo(name, rng)
    if kind == "abbreviate":
        return nm.drop_or_abbreviate_middle(name, rng)
    return name, False


# ------------------------------------------------------------------------------------------------
# Evolution: one quarter per step.
# ------------------------------------------------------------------------------------------------

def evolve(state: ChunkState, seed: int, step: int, step_date: date, ref: Reference, g: dict) -> None:
    """Advance the chunk by one quarter ending at step_date: deaths, births, marriages, moves, shocks."""
    rng = np.random.default_rng([seed, state.chunk, 1000 + step])
    ev = g["evolution"]
    q = 0.25
    p, f = state.persons, state.families
    today = np.datetime64(step_date, "D")
    age = (today - p["birth_date"].to_numpy().astype("datetime64[D]")).astype(np.int64) / 365.25

    # Income and wealth shocks (visible in assets and jobs, so they go to the observed part).
    f.loc[f["alive"], "lpcc_obs"] += rng.normal(0, g["consumption"]["quarterly_drift_sd"], int(f["alive"].sum()))

    # Deaths.
    rates = np.zeros(len(p))
    for band, r in ev["death_rate_by_age"].items():
        lo, hi = (float(x) for x in band.split("-"))
        rates[(age >= lo) & (age < hi)] = r
    dies = p["alive"].to_numpy() & (rng.random(len(p)) < rates * q)
    p.loc[dies, ["alive", "died_step"]] = [False, step]
    _replace_dead_heads(state)

    # Births to married women 15-44 living with their husband.
    alive = p["alive"].to_numpy()
    mothers = p.index[alive & p["female"].to_numpy() & p["married"].to_numpy() & (age >= 15) & (age < 45)
                      & (rng.random(len(p)) < ev["birth_rate_married_women"] * q)]
    if len(mothers):
        m = p.loc[mothers]
        n = len(m)
        female = rng.random(n) < 0.49
        birth = today - rng.integers(0, 90, n).astype("timedelta64[D]")
        keys = NEW_PERSON_BASE + (state.chunk << 24) + (step << 16) + np.arange(n)
        fam = f.set_index("family_key").loc[m["family_key"]]
        district = ref.village_district[fam["village_idx"].to_numpy()]
        prefix = nik_prefix(district, birth, female)
        babies = pd.DataFrame({
            "person_key": keys.astype(np.int64), "family_key": m["family_key"].to_numpy(),
            "relationship": np.where(m["relationship"].isin([HEAD, WIFE]).to_numpy(), CHILD,
                                     GRANDCHILD).astype(np.int8),
            "female": female, "age0": 0.0, "birth_date": birth.astype("datetime64[ns]"),
            "name": nm.generate_names(rng, female, pd.DatetimeIndex(birth).year.to_numpy()),
            "alive": True, "born_step": step, "died_step": -1, "married": False, "education": np.int8(0),
            "nik_district": district,
            "nik": prefix + assign_serials(prefix, p["nik"].str.slice(0, 12).to_numpy(), state.chunk)})
        state.persons = p = pd.concat([p, babies], ignore_index=True)

    _marriages(state, rng, step, step_date, ref, g)
    _moves(state, rng, step, ref, g)


def _replace_dead_heads(state: ChunkState) -> None:
    """When a head dies the eldest living member heads the KK; a KK with nobody left is closed."""
    p, f = state.persons, state.families
    dead_head_fams = p.loc[~p["alive"] & (p["relationship"] == HEAD), "family_key"].unique()
    for fk in dead_head_fams:
        members = p.index[(p["family_key"] == fk) & p["alive"]]
        head_idx = p.index[(p["family_key"] == fk) & (p["relationship"] == HEAD)]
        p.loc[head_idx, "relationship"] = np.int8(9)   # the deceased leaves the head role
        if len(members) == 0:
            f.loc[f["family_key"] == fk, "alive"] = False
            continue
        eldest = p.loc[members].sort_values(["birth_date", "person_key"]).index[0]
        p.loc[eldest, "relationship"] = np.int8(HEAD)
    # A married person with no living spouse left in the KK is widowed.
    live_married = (p["alive"] & p["married"]).astype(int)
    partners = live_married.groupby(p["family_key"]).transform("sum")
    p.loc[p["married"] & (partners < 2), "married"] = False


def _marriages(state: ChunkState, rng: np.random.Generator, step: int, step_date: date, ref: Reference,
               g: dict) -> None:
    """Young adults marry within the chunk and found a new KK in the groom's village."""
    p, f = state.persons, state.families
    today = np.datetime64(step_date, "D")
    age = (today - p["birth_date"].to_numpy().astype("datetime64[D]")).astype(np.int64) / 365.25
    cand = p.index[p["alive"].to_numpy() & ~p["married"].to_numpy() & (p["relationship"] == CHILD).to_numpy()
                   & (age >= 20) & (age < 36)
                   & (rng.random(len(p)) < g["evolution"]["marriage_rate_young_adults"] * 0.25)]
    men = rng.permutation(cand[~p.loc[cand, "female"].to_numpy()])
    women = rng.permutation(cand[p.loc[cand, "female"].to_numpy()])
    n = min(len(men), len(women))
    if n == 0:
        return
    men, women = men[:n], women[:n]
    new_keys = NEW_FAMILY_BASE + (state.chunk << 20) + state.new_families + np.arange(n)
    state.new_families += n
    groom_fam = f.set_index("family_key").loc[p.loc[men, "family_key"]]
    vidx = groom_fam["village_idx"].to_numpy()
    district = ref.village_district[vidx]
    p.loc[men, "family_key"] = new_keys
    p.loc[women, "family_key"] = new_keys
    p.loc[men, "relationship"] = np.int8(HEAD)
    p.loc[women, "relationship"] = np.int8(WIFE)
    p.loc[np.concatenate([men, women]), "married"] = True
    edu = p.loc[men, "education"].to_numpy()
    new = pd.DataFrame({"family_key": new_keys.astype(np.int64), "province_idx": groom_fam["province_idx"].to_numpy(),
                        "village_idx": vidx, "prev_village_idx": -1, "ftype": 1, "formed_step": step,
                        "alive": True, "head_education": edu})
    # A young couple starts near the groom's family's level, a little lower.
    new["lpcc_obs"] = groom_fam["lpcc_obs"].to_numpy() - 0.1 + rng.normal(0, 0.15, n)
    new["lpcc_unobs"] = rng.normal(0, g["consumption"]["sigma_unobserved"], n)
    new["hidden_wealth"] = False
    new["kk"] = _kk_numbers(rng, district, state.chunk, f["kk"].str.slice(0, 12).to_numpy(), step_date)
    new["kk"] = [k[:6] + pd.Timestamp(step_date).strftime("%d%m%y") + k[12:] for k in new["kk"]]
    state.families = pd.concat([f, new], ignore_index=True)


def _moves(state: ChunkState, rng: np.random.Generator, step: int, ref: Reference, g: dict) -> None:
    """Families move: mostly within their province, a fifth to another province."""
    f = state.families
    movers = f.index[f["alive"].to_numpy() & (rng.random(len(f)) < g["evolution"]["move_rate_families"] * 0.25)]
    if len(movers) == 0:
        return
    far = rng.random(len(movers)) < 0.2
    prov = np.where(far, rng.choice(len(ref.province_codes), len(movers), p=ref.province_p),
                    f.loc[movers, "province_idx"].to_numpy())
    f.loc[movers, "prev_village_idx"] = f.loc[movers, "village_idx"].to_numpy()
    f.loc[movers, "village_idx"] = ref.pick_villages(prov, rng.random(len(movers)))
    f.loc[movers, "province_idx"] = prov


def current_view(state: ChunkState, seed: int, cycle_index: int, ref_date: date, ref: Reference,
                 g: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alive families and persons at ref_date with everything the agencies observe derived from state."""
    f = state.families.loc[state.families["alive"]].copy()
    p = state.persons.loc[state.persons["alive"]].copy()
    p = p.loc[p["family_key"].isin(f["family_key"])]
    today = np.datetime64(ref_date, "D")
    p["age"] = ((today - p["birth_date"].to_numpy().astype("datetime64[D]")).astype(np.int64) // 365.25).astype(int)
    size = p.groupby("family_key").size()
    f["size"] = f["family_key"].map(size).fillna(0).astype(int)
    f = f.loc[f["size"] > 0]
    f["village_code"] = ref.village_codes[f["village_idx"].to_numpy()]
    f["district_code"] = ref.village_district[f["village_idx"].to_numpy()]
    f["urban"] = ref.village_urban[f["village_idx"].to_numpy()]
    f["province_code"] = ref.province_codes[f["province_idx"].to_numpy()]
    f["lpcc"] = f["lpcc_obs"] + f["lpcc_unobs"]
    f["pcc"] = np.exp(f["lpcc"]).round(0)
    f["poor"] = f["pcc"] < g["poverty_line"]
    # Standardized wealth the agencies' records reflect (the observed part only).
    f["wealth"] = (f["lpcc_obs"] - (np.log(g["poverty_line"]) + 0.85)) / 0.5
    fk = f["family_key"].to_numpy()
    f["surveyed"] = keyed_uniform(seed, S_SURVEY, fk) < g["coverage"]["regsosek"]
    f["susenas"] = keyed_uniform(seed, S_SUSENAS * 1000 + cycle_index, fk) < g["coverage"]["susenas"]

    pk = p["person_key"].to_numpy()
    fw = f.set_index("family_key")
    wealth = fw.loc[p["family_key"], "wealth"].to_numpy()
    urban = fw.loc[p["family_key"], "urban"].to_numpy()
    age = p["age"].to_numpy()
    peo = g["people"]
    p["disabled"] = keyed_uniform(seed, S_DISABILITY, pk) < peo["severe_disability_rate"] * (0.5 + age / 60)
    # Enrolment falls with age band and with poverty.
    base = np.select([(age >= 7) & (age <= 12), (age >= 13) & (age <= 15), (age >= 16) & (age <= 18)],
                     [peo["enrolment"]["7-12"], peo["enrolment"]["13-15"], peo["enrolment"]["16-18"]], 0.0)
    logit = np.log(np.clip(base, 1e-6, 1 - 1e-6) / np.clip(1 - base, 1e-6, 1)) + 0.6 * wealth
    enrol_u = keyed_uniform(seed, S_ENROL + 1000 * cycle_index, pk)
    p["enrolled"] = (base > 0) & (enrol_u < sigmoid(logit)) & ~p["disabled"]
    p["pregnant"] = (p["female"] & p["married"] & (age >= 15) & (age < 45)
                     & (keyed_uniform(seed, S_PREGNANT + 1000 * cycle_index, pk) < peo["pregnancy_rate"]))
    # Work: adults 18-64 who are not in school. Formal jobs follow wealth, schooling and towns.
    working_age = (age >= 18) & (age <= 64) & ~p["enrolled"].to_numpy()
    emp_u = keyed_uniform(seed, S_EMPLOY, pk)
    is_head_or_spouse = p["relationship"].isin([HEAD, HUSBAND, WIFE]).to_numpy()
    female = p["female"].to_numpy()
    works = working_age & (emp_u < np.where(female, 0.55, 0.9))
    formal_p = sigmoid(-1.5 + 0.9 * wealth + 0.5 * urban + 0.35 * (p["education"].to_numpy() - 3)
                       - 0.6 * female + 0.3 * is_head_or_spouse)
    formal = works & (keyed_uniform(seed, S_EMPLOY + 50, pk) < formal_p)
    sectors = list(peo["sector_shares_formal"])
    sw = np.array([peo["sector_shares_formal"][s] for s in sectors], dtype=float)
    su = keyed_uniform(seed, S_SECTOR, pk)
    # Civil service and the forces recruit the schooled: shift the draw for the educated.
    su = np.where(p["education"].to_numpy() >= 4, su * 0.75 + 0.25 * su ** 3, su ** 0.7)
    sector_idx = np.searchsorted(np.cumsum(sw / sw.sum()), su, side="right").clip(0, len(sectors) - 1)
    sector = np.where(formal, np.array(sectors)[sector_idx],
                      np.where(works, np.where(urban, "INFORMAL", "PERTANIAN"), "TIDAK BEKERJA"))
    p["sector"] = sector
    hh_income = np.exp(fw.loc[p["family_key"], "lpcc"].to_numpy()) * fw.loc[p["family_key"], "size"].to_numpy() * 1.2
    share = np.where(p["relationship"].to_numpy() == HEAD, 0.7, 0.45)
    wage = hh_income * share * np.exp(0.25 * keyed_normal(seed, S_WAGE, pk))
    p["wage"] = np.where(formal, np.round(np.maximum(wage, 1_000_000) / 1000) * 1000, 0).astype(np.int64)
    p["village_code"] = fw.loc[p["family_key"], "village_code"].to_numpy()
    p["kk"] = fw.loc[p["family_key"], "kk"].to_numpy()
    return f.reset_index(drop=True), p.reset_index(drop=True)
