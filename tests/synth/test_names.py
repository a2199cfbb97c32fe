"""Synthetic Indonesian names: realistic shares, registry-style variants, and a key that undoes them."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from dtsen.synth import names as nm

N = 200_000


@pytest.fixture(scope="module")
def population() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    female = rng.random(N) < 0.5
    birth_year = rng.integers(1940, 2025, N)
    names = nm.generate_names(np.random.default_rng(7), female, birth_year)
    split = [nm.split_titles(x) for x in names]
    return {
        "female": female,
        "birth_year": birth_year,
        "names": names,
        "core": np.array([c for c, _ in split], dtype=object),
        "titles": [t for _, t in split],
    }


def _lead_keys(names: np.ndarray) -> np.ndarray:
    return np.array([(nm.name_key(x).split() or [""])[0] for x in names], dtype=object)


# ------------------------------------------------------------------------------------------------
# generate_names
# ------------------------------------------------------------------------------------------------


def test_same_seed_gives_same_names_and_other_seed_differs() -> None:
    female = np.arange(5_000) % 2 == 0
    year = 1940 + np.arange(5_000) % 85
    a = nm.generate_names(np.random.default_rng(1), female, year)
    b = nm.generate_names(np.random.default_rng(1), female, year)
    c = nm.generate_names(np.random.default_rng(2), female, year)
    assert a.tolist() == b.tolist()
    assert np.mean(a != c) > 0.5


def test_names_look_like_dukcapil_nama_lgkp(population: dict) -> None:
    names = population["names"]
    assert names.shape == (N,) and names.dtype == object
    pattern = re.compile(r"^[A-Z][A-Z .']*(, [A-Z.]+)*$")        # comma only before suffix titles
    bad = [x for x in names if not pattern.match(x) or "  " in x or x != x.strip()]
    assert bad == []


def test_word_count_mix(population: dict) -> None:
    words = np.array([len(c.split()) for c in population["core"]])
    assert 0.25 <= np.mean(words == 1) <= 0.35
    assert 0.45 <= np.mean(words == 2) <= 0.55
    assert 0.15 <= np.mean(words == 3) <= 0.25
    old, young = population["birth_year"] < 1970, population["birth_year"] >= 1995
    assert np.mean(words[old] == 1) > np.mean(words[young] == 1)   # one-word names are older Java


def test_muhammad_leads_about_a_tenth_of_men_in_many_spellings(population: dict) -> None:
    men = ~population["female"]
    lead = _lead_keys(population["names"][men])
    assert 0.08 <= np.mean(lead == "MUHAMMAD") <= 0.12
    spellings = Counter(c.split()[0] for c in population["core"][men][lead == "MUHAMMAD"])
    assert spellings.most_common(1)[0][0] == "MUHAMMAD"
    assert len(spellings) >= 15
    assert {"M.", "MOH.", "MOCHAMAD"} <= set(spellings)


def test_common_female_and_male_first_words(population: dict) -> None:
    female = population["female"]
    first = np.array([c.split()[0] for c in population["core"]], dtype=object)
    women = Counter(first[female])
    men = Counter(first[~female])
    assert 0.06 <= women["SITI"] / female.sum() <= 0.08
    assert [w for w, _ in women.most_common(2)] == ["SITI", "SRI"]
    assert {"AHMAD", "ABDUL"} <= {w for w, _ in men.most_common(10)}
    assert women["NUR"] + women["NURUL"] > 0.01 * female.sum()
    assert men["NUR"] > 0.005 * (~female).sum()


def test_siti_is_rarely_a_whole_name_but_sugiyem_is(population: dict) -> None:
    core = Counter(population["core"])
    assert core["SITI"] == 0
    assert core["SUGIYEM"] > 100


def test_balinese_and_marga_names_follow_their_conventions(population: dict) -> None:
    core, female = population["core"], population["female"]
    ni = np.array([c.startswith("NI ") for c in core])
    i = np.array([c.startswith("I ") for c in core])
    assert ni.sum() > 100 and i.sum() > 100
    assert female[ni].all() and not female[i].any()
    last = Counter(c.split()[-1] for c in core)
    assert sum(last[m] for m in ("SIREGAR", "NASUTION", "SINAGA", "SEMBIRING", "LUBIS")) > 200


def test_old_spelling_almost_only_before_the_1972_reform(population: dict) -> None:
    is_old = np.array([nm.to_new_spelling(x)[1] for x in population["names"]])
    before = population["birth_year"] < 1972
    assert np.mean(is_old[before]) > 0.15
    assert np.mean(is_old[~before]) < 0.02
    assert any("SOE" in x or "DJ" in x or "TJ" in x for x in population["names"][before])


def test_titles_are_rare_and_only_for_adults(population: dict) -> None:
    titled = np.array([len(t) > 0 for t in population["titles"]])
    adult = population["birth_year"] < 2000
    assert not titled[~adult].any()
    assert 0.05 <= np.mean(titled[adult]) <= 0.11
    titles = population["titles"]
    haji = np.array(["H." in t for t in titles])
    hajjah = np.array(["HJ." in t for t in titles])
    assert 0.005 <= np.mean(haji[adult]) and 0.005 <= np.mean(hajjah[adult])
    assert not population["female"][haji].any() and population["female"][hajjah].all()
    suffixed = np.array([any(x in nm.TITLES_SUFFIX for x in t) for t in titles])
    assert 0.03 <= np.mean(suffixed[adult]) <= 0.05


def test_no_public_figure_full_names(population: dict) -> None:
    famous = {"JOKO WIDODO", "SRI MULYANI", "MOHAMMAD HATTA", "SUSI SUSANTI", "TAUFIK HIDAYAT",
              "RIDWAN KAMIL", "SUKARNO", "SUHARTO", "KARTINI", "SUDIRMAN", "PRABOWO SUBIANTO"}
    assert famous.isdisjoint(set(population["core"]))


def test_generate_names_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="same length"):
        nm.generate_names(np.random.default_rng(0), np.array([True, False]), np.array([1980]))


# ------------------------------------------------------------------------------------------------
# Variant functions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("new", "old"), [
    ("SUKARNO", "SOEKARNO"), ("JOKO", "DJOKO"), ("CAHYONO", "TJAHJONO"), ("SYAMSUDIN", "SJAMSOEDIN"),
    ("NYOMAN", "NJOMAN"), ("KHOLIK", "CHOLIK"), ("YANTI", "JANTI"), ("YUSUF", "JOESOEF"),
    ("H. AHMAD SYAFII, S.PD.", "H. AHMAD SJAFII, S.PD."), ("KH. ABDUL KHOLIK", "KH. ABDOEL CHOLIK"),
])
def test_to_old_spelling_examples(new: str, old: str) -> None:
    assert nm.to_old_spelling(new) == (old, True)


@pytest.mark.parametrize(("old", "new"), [
    ("DJOKO TJAHJONO", "JOKO CAHYONO"), ("SOEKARNO", "SUKARNO"), ("SJAMSOEDIN", "SYAMSUDIN"),
    ("SRI JANTI SOEPARMI", "SRI YANTI SUPARMI"), ("I NJOMAN DJAJA", "I NYOMAN JAYA"),
    ("CHOLIK", "KHOLIK"), ("MOCHAMAD SOEJOETI", "MOCHAMAD SUYUTI"),
])
def test_to_new_spelling_examples(old: str, new: str) -> None:
    assert nm.to_new_spelling(old) == (new, True)


@pytest.mark.parametrize(("fn", "name"), [
    (nm.to_old_spelling, "DJOKO"),             # already old
    (nm.to_old_spelling, "SETYAWAN"),          # TY keeps its Y; nothing else to change
    (nm.to_old_spelling, "SITI AMINAH"),
    (nm.to_new_spelling, "JOKO SANTOSO"),      # a lone J is new spelling unless the name is old
    (nm.to_new_spelling, "MOCHAMAD RIZKI"),    # a registered Muhammad spelling, not old spelling
    (nm.to_new_spelling, "ANJANI TANJUNG"),    # NJ is also new spelling
])
def test_spelling_changes_not_applicable(fn, name: str) -> None:
    assert fn(name) == (name, False)


def test_spelling_round_trip_on_generated_names(population: dict) -> None:
    checked = 0
    for x in population["names"][:20_000]:
        if "MUHAMMAD" in nm.name_key(x).split():
            continue                           # MUCHAMAD/MUKHAMAD are kept as registered
        old, changed = nm.to_old_spelling(x)
        if changed and nm.to_new_spelling(old)[1]:
            assert nm.to_new_spelling(old) == (x, True)
            checked += 1
    assert checked > 2_000


def test_vary_muhammad() -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        new, changed = nm.vary_muhammad("H. MUHAMMAD RIZKI, S.E.", rng)
        assert changed and new != "H. MUHAMMAD RIZKI, S.E."
        assert new.startswith("H. ") and new.endswith(" RIZKI, S.E.")
        seen.add(new.split()[1])
    assert len(seen) >= 10 and "MUHAMMAD" not in seen
    assert nm.vary_muhammad("M.RIZKI", rng)[0].endswith(" RIZKI")             # keeps a word break
    assert nm.vary_muhammad("SITI AMINAH", rng) == ("SITI AMINAH", False)
    assert nm.vary_muhammad("SITI M. AMINAH", rng) == ("SITI M. AMINAH", False)  # M. mid-name: unknown


def test_toggle_title_removes_all_or_adds_one() -> None:
    rng = np.random.default_rng(0)
    assert nm.toggle_title("DRS. H. AHMAD, S.PD., M.PD.", rng) == ("AHMAD", True)
    added = {nm.toggle_title("SITI AMINAH", rng)[0] for _ in range(100)}
    assert len(added) > 3
    for name in added:
        core, titles = nm.split_titles(name)
        assert core == "SITI AMINAH" and len(titles) == 1
        assert titles[0] not in ("H.", "HJ.", "KH.")      # sex is not known from the name


def _is_one_keyboard_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    return len(long_) == len(short) + 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def test_typo_is_one_edit_inside_the_name_and_spares_titles(population: dict) -> None:
    rng = np.random.default_rng(0)
    for x in population["names"][:5_000]:
        y, changed = nm.typo(x, rng)
        core_x, titles_x = nm.split_titles(x)
        assert changed == any(len(w) >= 3 for w in re.findall("[A-Z]+", core_x))
        if changed:
            core_y, titles_y = nm.split_titles(y)
            assert titles_y == titles_x
            assert _is_one_keyboard_edit(core_x, core_y), (x, y)
        else:
            assert y == x
    assert nm.typo("I DE", rng) == ("I DE", False)


def test_drop_or_abbreviate_middle() -> None:
    rng = np.random.default_rng(0)
    outs = {nm.drop_or_abbreviate_middle("SITI NUR HALIZAH", rng) for _ in range(50)}
    assert outs == {("SITI N. HALIZAH", True), ("SITI HALIZAH", True)}
    assert nm.drop_or_abbreviate_middle("H. AHMAD NUR HIDAYAT, S.PD.", rng)[0] in (
        "H. AHMAD N. HIDAYAT, S.PD.", "H. AHMAD HIDAYAT, S.PD.")
    assert nm.drop_or_abbreviate_middle("BUDI SANTOSO", rng) == ("BUDI SANTOSO", False)
    assert nm.drop_or_abbreviate_middle("DRS. SUPARMAN", rng) == ("DRS. SUPARMAN", False)


def test_each_variant_reports_changes_honestly(population: dict) -> None:
    rng = np.random.default_rng(1)
    fns = [nm.to_old_spelling, nm.to_new_spelling, lambda s: nm.vary_muhammad(s, rng),
           lambda s: nm.toggle_title(s, rng), lambda s: nm.typo(s, rng),
           lambda s: nm.drop_or_abbreviate_middle(s, rng)]
    for x in population["names"][:3_000]:
        for fn in fns:
            y, changed = fn(x)
            assert changed == (y != x)


# ------------------------------------------------------------------------------------------------
# Reference standardizer
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "core", "titles"), [
    ("h.ahmad syafii,s.pd", "AHMAD SYAFII", ["H.", "S.PD."]),
    ("Hj Siti Aminah", "SITI AMINAH", ["HJ."]),
    ("DRS. BUDI SANTOSO, M.M.", "BUDI SANTOSO", ["DRS.", "M.M."]),
    ("Drs Budi", "BUDI", ["DRS."]),
    ("Ahmad,S.Pd", "AHMAD", ["S.PD."]),
    ("PROF. DR. IR. H. AHMAD, M.SI.", "AHMAD", ["PROF.", "DR.", "IR.", "H.", "M.SI."]),
    ("H. AHMAD S.PD M.M.", "AHMAD", ["H.", "S.PD.", "M.M."]),
    ("HAJJAH  SITI   AMINAH ,  S.Pd.I", "SITI AMINAH", ["HJ.", "S.PD.I."]),
    ("HARTONO", "HARTONO", []),
    ("IRFAN HAKIM", "IRFAN HAKIM", []),
    ("DRAJAT KHOIRUL", "DRAJAT KHOIRUL", []),
    ("M. RIZKI", "M. RIZKI", []),
])
def test_split_titles_on_messy_input(raw: str, core: str, titles: list[str]) -> None:
    assert nm.split_titles(raw) == (core, titles)


@pytest.mark.parametrize(("a", "b"), [
    ("H. MOCH. SJAMSOEDIN, S.AG.", "MUHAMMAD SYAMSUDIN"),
    ("m.rizki", "Muhammad Rizki"),
    ("MA'RUF", "MARUF"),
    ("DJOKO TJAHJONO", "JOKO CAHYONO"),
    ("SRI JANTI", "SRI YANTI"),
])
def test_name_key_folds_registry_variants(a: str, b: str) -> None:
    assert nm.name_key(a) == nm.name_key(b)


def test_name_key_is_clean_and_keeps_different_names_apart() -> None:
    assert nm.name_key("  Hj.  Siti-Nur   Halizah ,S.Pd ") == "SITI NUR HALIZAH"
    assert nm.name_key("AHMAD") != nm.name_key("MAHMUD")
    assert nm.name_key("BUDI SANTOSO") != nm.name_key("BUDI SANTOSA")
    assert all(nm.name_key(v) == "MUHAMMAD" for v in nm.MUHAMMAD_VARIANTS)


def test_name_key_invariant_under_spelling_muhammad_and_title_variants(population: dict) -> None:
    rng = np.random.default_rng(3)
    sample = population["names"][:2_000]
    changed = Counter()
    for x in sample:
        key = nm.name_key(x)
        for kind, (y, ch) in (("old", nm.to_old_spelling(x)), ("muhammad", nm.vary_muhammad(x, rng)),
                              ("title", nm.toggle_title(x, rng))):
            assert nm.name_key(y) == key, (kind, x, y)
            assert nm.phonetic_key(y) == nm.phonetic_key(x)
            changed[kind] += ch
    assert changed["old"] > 500 and changed["muhammad"] > 50 and changed["title"] == len(sample)


def test_typo_usually_changes_the_key(population: dict) -> None:
    rng = np.random.default_rng(4)
    pairs = [(x, nm.typo(x, rng)) for x in population["names"][:2_000]]
    moved = [nm.name_key(x) != nm.name_key(y) for x, (y, ch) in pairs if ch]
    assert np.mean(moved) > 0.95


@pytest.mark.parametrize("group", [
    ("SYAMSUDIN", "SAMSUDIN", "SJAMSOEDIN"),
    ("CHOLIK", "KHOLIK", "HOLIK"),
    ("FITRI", "PITRI"),
    ("ZAINAL", "ZAENAL"),
    ("AZIZ", "AZIS"),
    ("RIZKY", "RIZKI", "RISKI"),
    ("SUPRIYADI", "SUPRIADI"),
    ("RAHMAT", "RACHMAT"),
    ("AHMAD", "ACHMAD", "AKHMAD", "AHMAT"),
    ("YUSUF", "JOESOEF", "YUSUP"),
    ("ARIF", "ARIEF", "ARIP"),
    ("WAHYU", "WAYU"),
    ("MUHAMMAD RIFQI", "M. RIFKI"),
])
def test_phonetic_key_collapses_spelling_variants(group: tuple[str, ...]) -> None:
    assert len({nm.phonetic_key(x) for x in group}) == 1


def test_phonetic_key_keeps_distinct_names_distinct() -> None:
    names = ["BUDI", "BAYU", "AGUS", "AGUNG", "SITI", "SRI", "RINA", "RANI", "EKO", "EKA", "DEWI", "DWI",
             "TRI", "ANDI", "ANDRI", "HADI", "SUPARMAN", "SUPARMI", "YANTI", "YANTO", "WAHYU", "WAHYUNI",
             "JOKO", "YOGA", "HIDAYAT", "HIDAYAH", "SUGIONO", "SUGIYEM"]
    codes = [nm.phonetic_key(x) for x in names]
    assert len(set(codes)) == len(names)


def test_phonetic_key_gives_one_code_per_token(population: dict) -> None:
    for x in population["names"][:2_000]:
        assert len(nm.phonetic_key(x).split()) == len(nm.name_key(x).split())


def test_rule_tables_are_plain_data_for_spark() -> None:
    """The Spark stage rebuilds the standardizer from these tables; keep them simple literals."""
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in nm.KEY_SPELLING_RULES)
    for pattern, repl in nm.PHONETIC_RULES:
        re.compile(pattern)
        assert "\\g<" not in repl                      # Java-style $1 group references only
    for p in (nm.PREFIX_TITLES_PATTERN, nm.SUFFIX_TITLES_COMMA_PATTERN, nm.SUFFIX_TITLES_TRAILING_PATTERN):
        assert "(?P" not in p                          # no Python-only named groups
    assert len([v for v in nm.MUHAMMAD_VARIANTS if not v.endswith(".")]) >= 20
    assert "MAHMUD" not in nm.MUHAMMAD_VARIANTS
