"""Synthetic Indonesian person names and the variants real registry data carries.

Three parts:

* ``generate_names`` draws Dukcapil-style full names (``NAMA_LGKP``: upper case, titles as
  registered) for a whole population at once with numpy; a Python loop runs only over the few
  dozen (sex, era, template) cells, never over persons.
* Variant functions (``to_old_spelling``, ``vary_muhammad``, ``toggle_title``, ``typo``,
  ``drop_or_abbreviate_middle``) turn one name into the kind of different-looking record of the same
  person that record linkage must catch. Each returns ``(new_name, changed)``.
* A reference standardizer (``split_titles``, ``name_key``, ``phonetic_key``) whose rules live in
  module-level tables and Java-compatible regexes, so the Spark stage can rebuild it from the same
  constants with ``regexp_replace`` / ``replace`` / ``split`` instead of a Python UDF.

All names are synthetic: tokens come from common-name pools, and tokens that would complete the
name of a well-known public figure (e.g. WIDODO, MULYANI, HATTA) are left out of the pools.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "KEY_DELETE_CHARS",
    "KEY_SPELLING_RULES",
    "MUHAMMAD",
    "MUHAMMAD_KEY_TOKENS",
    "MUHAMMAD_VARIANTS",
    "NEW_TO_OLD_PATTERN",
    "NEW_TO_OLD_RULES",
    "OLD_MARKER_PATTERN",
    "OLD_TO_NEW_RULES",
    "PHONETIC_RULES",
    "PREFIX_TITLES_PATTERN",
    "SUFFIX_TITLES_COMMA_PATTERN",
    "SUFFIX_TITLES_TRAILING_PATTERN",
    "TITLES_PREFIX",
    "TITLES_SUFFIX",
    "drop_or_abbreviate_middle",
    "generate_names",
    "name_key",
    "phonetic_key",
    "split_titles",
    "to_new_spelling",
    "to_old_spelling",
    "toggle_title",
    "typo",
    "vary_muhammad",
]

# ------------------------------------------------------------------------------------------------
# Titles
# ------------------------------------------------------------------------------------------------
TITLES_PREFIX: tuple[str, ...] = ("H.", "HJ.", "KH.", "DRS.", "DRA.", "DR.", "IR.", "PROF.")
"""Canonical prefix titles: hajj (H. men, HJ. women, KH. kyai), pre-1993 doctorandus/a, doctor,
engineer, professor."""

TITLES_SUFFIX: tuple[str, ...] = (
    "S.PD.", "S.E.", "S.H.", "S.AG.", "S.KOM.", "S.T.", "A.MD.", "S.SOS.", "S.IP.", "S.KM.",
    "S.KEP.", "S.PD.I.", "S.H.I.", "S.FARM.", "S.P.", "S.SI.", "S.KED.", "A.MA.", "A.MA.PD.",
    "A.MD.KEP.", "M.M.", "M.PD.", "M.SI.", "M.H.", "M.T.", "M.AG.", "M.KES.",
)
"""Canonical academic suffix titles (written after the name, after a comma, as registered)."""

PREFIX_TITLE_ALIASES: dict[str, str] = {
    "PROF": "PROF.", "DRS": "DRS.", "DRA": "DRA.", "DR": "DR.", "IR": "IR.", "HJH": "HJ.",
    "HJ": "HJ.", "HAJJAH": "HJ.", "HAJAH": "HJ.", "HAJI": "H.", "KH": "KH.", "H": "H.",
}
"""Letters-only spelling of a prefix title -> canonical form (covers 'Hj', 'HJ.', 'Hajjah')."""

_SUFFIX_COMPACT: dict[str, str] = {re.sub("[^A-Z]", "", t): t for t in TITLES_SUFFIX}


def _suffix_alternation(dot: str) -> str:
    """Alternation of known suffix titles, longest first; ``dot`` joins their parts."""
    parts = sorted((t.strip(".").split(".") for t in TITLES_SUFFIX), key=lambda p: -len("".join(p)))
    return "|".join(dot.join(p) + r"\.?" for p in parts)


_SUF_OPTIONAL_DOTS = _suffix_alternation(r"\s*\.?\s*")
_SUF_MANDATORY_DOTS = _suffix_alternation(r"\s*\.\s*")
_SUF_GENERIC = r"[A-Z]{1,4}(?:\s*\.\s*[A-Z]{1,5})+\.?"        # any dotted abbreviation after a comma
_TITLE_END = r"(?:(?<=\.)|(?=[\s,]|$))"                          # a title ends at a dot or a break
_PREFIX_ONE = "(" + "|".join(sorted(PREFIX_TITLE_ALIASES, key=len, reverse=True)) + r")(?:\s*\.\s*|\s+)(?=[A-Z])"
_SUFFIX_ONE = rf"(?:{_SUF_OPTIONAL_DOTS}|{_SUF_GENERIC}){_TITLE_END}"

PREFIX_TITLES_PATTERN = rf"^\s*(?:{_PREFIX_ONE}\s*)+"
"""Leading titles: 'H.AHMAD', 'Hj Siti', 'DR. IR. H. ...'. A title must be followed by a dot or a
space, so HARTONO or IRFAN are never cut."""
SUFFIX_TITLES_COMMA_PATTERN = rf"\s*,\s*(?:{_SUFFIX_ONE}[\s,]*)+$"
"""Titles after the first comma that is followed only by titles: 'AHMAD, S.PD., M.M.', 'Ahmad,SPd'."""
SUFFIX_TITLES_TRAILING_PATTERN = rf"(?:\s+(?:{_SUF_MANDATORY_DOTS}){_TITLE_END})+[\s,.]*$"
"""Known suffix titles written without a comma ('AHMAD S.PD'); dots required so names are safe."""

_FLAGS = re.IGNORECASE
_PREFIX_ONE_RE = re.compile(r"\s*" + _PREFIX_ONE + r"\s*", _FLAGS)
_SUFFIX_COMMA_RE = re.compile(SUFFIX_TITLES_COMMA_PATTERN, _FLAGS)
_SUFFIX_TRAILING_RE = re.compile(SUFFIX_TITLES_TRAILING_PATTERN, _FLAGS)
_SUFFIX_ONE_COMMA_RE = re.compile(_SUFFIX_ONE, _FLAGS)
_SUFFIX_ONE_TRAILING_RE = re.compile(rf"(?:{_SUF_MANDATORY_DOTS}){_TITLE_END}", _FLAGS)

# ------------------------------------------------------------------------------------------------
# Spelling (EYD 1972 reform) and Muhammad
# ------------------------------------------------------------------------------------------------
MUHAMMAD = "MUHAMMAD"
MUHAMMAD_VARIANTS: tuple[str, ...] = (
    "MUHAMMAD", "MUHAMAD", "MOHAMMAD", "MOHAMAD", "MOCHAMMAD", "MOCHAMAD", "MUHAMMED", "MOHAMMED",
    "MOKHAMAD", "MOKHAMMAD", "MUCHAMMAD", "MUCHAMAD", "MUKHAMMAD", "MUKHAMAD", "MUHAMMAT", "MUHAMAT",
    "MOHAMED", "MUHAMED", "MOHAMMAT", "MOCHAMMED", "MUHHAMAD", "MOHHAMAD",
    "MOH.", "MOCH.", "MUH.", "MHD.", "MOHD.", "M.",
)
"""Registered spellings and abbreviations of Muhammad, canonical first (MAHMUD is another name)."""
_MUHAMMAD_WEIGHTS = np.array(
    [45, 12, 6, 6, 3, 4, 1, 1, 1, 0.5, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.2, 0.2, 0.2,
     4, 2, 2, 1, 0.5, 6], dtype=float)
_MUHAMMAD_WORDS = frozenset(v.rstrip(".") for v in MUHAMMAD_VARIANTS)

NEW_TO_OLD_RULES: dict[str, str] = {"KH": "CH", "C": "TJ", "J": "DJ", "Y": "J", "U": "OE"}
"""New spelling -> pre-1972 spelling (ny->nj and sy->sj follow from y->j)."""
NEW_TO_OLD_PATTERN = r"KH|C(?!H)|J|(?<![TD])Y|U"
"""One pass, left to right. CH is kept (MOCHAMAD is a modern spelling); TY/DY keep their Y because an
old TJ/DJ would read back as C/J."""
OLD_TO_NEW_RULES: dict[str, str] = {"OE": "U", "DJ": "J", "TJ": "C", "NJ": "NY", "SJ": "SY", "CH": "KH", "J": "Y"}
"""Pre-1972 -> new spelling, applied in one left-to-right pass so DJ/TJ/NJ/SJ win over the lone J."""
OLD_MARKER_PATTERN = r"OE|DJ|TJ|SJ|CH"
"""Sequences that only old spelling produces; NJ is not one (TANJUNG, ANJANI are new spelling)."""

KEY_DELETE_CHARS = "'`"
"""Deleted before tokenising, so MA'RUF and MARUF share a key."""
KEY_SPELLING_RULES: tuple[tuple[str, str], ...] = (
    ("OE", "U"), ("DJ", "J"), ("TJ", "C"), ("NJ", "NY"), ("SJ", "SY"), ("CH", "KH"), ("J", "Y"),
)
"""Literal replacements applied in order to the key. Old -> new first; the last rule folds every J
into Y because a lone J is ambiguous (new J = old DJ, old J = new Y). Folding both makes the key of an
old-spelling name exactly equal to the key of its new-spelling form, at the price of reading 'YOKO'
for JOKO."""


def _key_spelling(s: str) -> str:
    for old, new in KEY_SPELLING_RULES:
        s = s.replace(old, new)
    return s


MUHAMMAD_KEY_TOKENS: frozenset[str] = frozenset(_key_spelling(w) for w in _MUHAMMAD_WORDS)
"""Key-space forms of every Muhammad spelling/abbreviation; any such token becomes MUHAMMAD."""

PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    # Arabic-derived digraphs written several ways: KHOLIK/HOLIK, SYAMSUDIN/SAMSUDIN, DZAKI/ZAKI.
    ("KH", "H"), ("SY", "S"), ("DZ", "Z"), ("TS", "S"), ("PH", "F"),
    # Letters Indonesians pronounce alike: F/V/P (FITRI/PITRI), Q/K (RAFIQ/RAFIK), Z/S (AZIZ/AZIS).
    ("[FV]", "P"), ("Q", "K"), ("Z", "S"), ("X", "KS"), ("C(?![AEIOU])", "K"),
    # H is silent or optional inside words (RAHMAT/RAMAT, WAHYU/WAYU, DEDEH/DEDE); keep it first.
    ("(?<=[A-Z])H", ""),
    # Glides between vowels are optional (SUPRIYADI/SUPRIADI, SUWARNO/SUARNO, RIZKY/RIZKI).
    ("IY(?=[AEIOU])", "I"), ("UW(?=[AEIOU])", "U"), ("(?<=[BCDFGJKLMPRSTVXZ])Y(?=[AEIOU]|\\b)", "I"),
    # Vowel runs keep their first vowel (ZAINAL/ZAENAL, ARIEF/ARIF); doubled letters fold.
    ("([AEIOU])[AEIOU]+", "$1"), ("([A-Z])\\1+", "$1"),
    # Final stops are unreleased: AHMAD/AHMAT, HABIB/HABIP.
    ("D\\b", "T"), ("B\\b", "P"),
)
"""(Java regex, replacement with $n group refs) applied in order to ``name_key``. Token-local: no
pattern crosses a space. English Soundex/Metaphone would, e.g., keep KH and SY apart or drop vowels
that tell EKO from EKA."""
_PHONETIC_COMPILED = [(re.compile(p), re.sub(r"\$(\d)", r"\\g<\1>", r)) for p, r in PHONETIC_RULES]

_NEW_TO_OLD_RE = re.compile(NEW_TO_OLD_PATTERN)
_OLD_TO_NEW_RE = re.compile("|".join(OLD_TO_NEW_RULES))
_OLD_MARKER_RE = re.compile(OLD_MARKER_PATTERN)
_WORD_RE = re.compile(r"[A-Z]+")
_NON_LETTERS_RE = re.compile(r"[^A-Z]+")
_KEY_DELETE = str.maketrans("", "", KEY_DELETE_CHARS)

# ------------------------------------------------------------------------------------------------
# Title parsing and the reference standardizer
# ------------------------------------------------------------------------------------------------


def _core_span(name: str) -> tuple[int, int]:
    """(start, end) of the name between prefix and suffix titles; works on any case."""
    start = 0
    while (m := _PREFIX_ONE_RE.match(name, start)) is not None:
        start = m.end()
    end = len(name)
    if (m := _SUFFIX_COMMA_RE.search(name, start)) is not None:
        end = m.start()
    if (m := _SUFFIX_TRAILING_RE.search(name, start, end)) is not None and m.start() > start:
        end = m.start()
    return start, end


def split_titles(name: str) -> tuple[str, list[str]]:
    """Split off prefix and suffix titles: ``("AHMAD SYAFII", ["H.", "S.PD."])``.

    Tolerant of registry mess (``h.ahmad syafii,s.pd``, ``Hj Siti``, ``Drs Budi``); titles come back in
    canonical upper-case form, the name upper-cased with single spaces.
    """
    up = name.upper()
    start, end = _core_span(up)
    titles = [PREFIX_TITLE_ALIASES[m.group(1)] for m in _iter_prefixes(up, start)]
    tail = up[end:]
    finder = _SUFFIX_ONE_COMMA_RE if "," in tail else _SUFFIX_ONE_TRAILING_RE
    for m in finder.finditer(tail):
        text = m.group(0)
        compact = re.sub("[^A-Z]", "", text)
        titles.append(_SUFFIX_COMPACT.get(compact, re.sub(r"\s+", "", text)))
    core = " ".join(up[start:end].replace(",", " ").split())
    return core, titles


def _iter_prefixes(up: str, stop: int) -> Iterator[re.Match[str]]:
    pos = 0
    while pos < stop and (m := _PREFIX_ONE_RE.match(up, pos)) is not None:
        yield m
        pos = m.end()


def name_key(name: str) -> str:
    """Matching key: titles stripped, letters only, old spelling and Muhammad variants folded.

    Equal for a name and any output of ``to_old_spelling``, ``vary_muhammad`` or ``toggle_title`` on it.
    """
    up = name.upper()
    start, end = _core_span(up)
    s = _NON_LETTERS_RE.sub(" ", up[start:end].translate(_KEY_DELETE)).strip()
    s = _key_spelling(s)
    return " ".join(MUHAMMAD if t in MUHAMMAD_KEY_TOKENS else t for t in s.split())


def phonetic_key(name: str) -> str:
    """Indonesian-suited sound code of ``name_key``, one code per token (see ``PHONETIC_RULES``)."""
    s = name_key(name)
    for pattern, repl in _PHONETIC_COMPILED:
        s = pattern.sub(repl, s)
    return s


# ------------------------------------------------------------------------------------------------
# Variant functions (per record; used on the few records that carry an error)
# ------------------------------------------------------------------------------------------------


def _with_core(name: str, new_core: str, span: tuple[int, int]) -> str:
    return name[: span[0]] + new_core + name[span[1]:]


def _is_old(core: str) -> bool:
    return any(_OLD_MARKER_RE.search(w) for w in _WORD_RE.findall(core) if w not in _MUHAMMAD_WORDS)


def to_old_spelling(name: str) -> tuple[str, bool]:
    """Pre-1972 spelling of a new-spelling name (SUKARNO -> SOEKARNO, CAHYONO -> TJAHJONO).

    Not applicable to a name already in old spelling or with nothing to change. Titles are kept.
    """
    span = _core_span(name)
    core = name[span[0]: span[1]]
    if _is_old(core):
        return name, False
    new_core = _NEW_TO_OLD_RE.sub(lambda m: NEW_TO_OLD_RULES[m.group(0)], core)
    return (_with_core(name, new_core, span), True) if new_core != core else (name, False)


def _word_to_new(m: re.Match[str]) -> str:
    w = m.group(0)
    return w if w in _MUHAMMAD_WORDS else _OLD_TO_NEW_RE.sub(lambda r: OLD_TO_NEW_RULES[r.group(0)], w)


def to_new_spelling(name: str) -> tuple[str, bool]:
    """New spelling of an old-spelling name (DJOKO TJAHJONO -> JOKO CAHYONO).

    A name counts as old only if it holds an unambiguous old marker (OE, DJ, TJ, SJ, CH outside a
    Muhammad spelling); only then is a lone J read as the old Y. Muhammad spellings are kept as
    registered (MOCHAMAD is not 'corrected').
    """
    span = _core_span(name)
    core = name[span[0]: span[1]]
    if not _is_old(core):
        return name, False
    new_core = _WORD_RE.sub(_word_to_new, core)
    return (_with_core(name, new_core, span), True) if new_core != core else (name, False)


def vary_muhammad(name: str, rng: np.random.Generator) -> tuple[str, bool]:
    """Swap the first Muhammad spelling/abbreviation for another one (MUHAMMAD -> MOCH.).

    A lone initial M counts as Muhammad only as the first word of the name.
    """
    span = _core_span(name)
    core = name[span[0]: span[1]]
    for i, m in enumerate(_WORD_RE.finditer(core)):
        word = m.group(0)
        if _key_spelling(word) not in MUHAMMAD_KEY_TOKENS or (word == "M" and i > 0):
            continue
        end = m.end() + (1 if core[m.end(): m.end() + 1] == "." else 0)
        current = core[m.start(): end]
        keep = np.array([v != current for v in MUHAMMAD_VARIANTS])
        choices = np.flatnonzero(keep)
        w = _MUHAMMAD_WEIGHTS[choices]
        new = MUHAMMAD_VARIANTS[int(choices[rng.choice(len(choices), p=w / w.sum())])]
        rest = core[end:]
        if rest[:1].isalpha():
            rest = " " + rest
        return _with_core(name, core[: m.start()] + new + rest, span), True
    return name, False


_ADDED_SUFFIXES = ("S.PD.", "S.E.", "S.H.", "S.KOM.", "S.T.", "S.AG.", "S.SOS.", "A.MD.", "M.M.")
_ADDED_PREFIXES = ("DR.", "IR.")


def toggle_title(name: str, rng: np.random.Generator) -> tuple[str, bool]:
    """Remove all titles, or, if there are none, add a gender-neutral academic one.

    H./HJ. are never added: the sex is not known from the name.
    """
    core, titles = split_titles(name)
    if titles and core:
        return core, True
    base = " ".join(name.split())
    if rng.random() < 0.8:
        return f"{base}, {_ADDED_SUFFIXES[rng.integers(len(_ADDED_SUFFIXES))]}", True
    return f"{_ADDED_PREFIXES[rng.integers(len(_ADDED_PREFIXES))]} {base}", True


_KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "Q": "WA", "W": "QESA", "E": "WRDS", "R": "ETFD", "T": "RYGF", "Y": "TUHG", "U": "YIJH",
    "I": "UOKJ", "O": "IPLK", "P": "OL", "A": "QWSZ", "S": "AWEDXZ", "D": "SERFCX", "F": "DRTGVC",
    "G": "FTYHBV", "H": "GYUJNB", "J": "HUIKMN", "K": "JIOLM", "L": "KOP", "Z": "ASX", "X": "ZSDC",
    "C": "XDFV", "V": "CFGB", "B": "VGHN", "N": "BHJM", "M": "NJK",
}
_TYPO_WORD_RE = re.compile(r"[A-Z]{3,}")


def typo(name: str, rng: np.random.Generator) -> tuple[str, bool]:
    """One keyboard slip in a word of 3+ letters: neighbour key, deletion, doubling or transposition.

    Titles are never touched; names without such a word are returned unchanged.
    """
    span = _core_span(name)
    core = name[span[0]: span[1]]
    words = list(_TYPO_WORD_RE.finditer(core))
    if not words:
        return name, False
    m = words[int(rng.integers(len(words)))]
    w = m.group(0)
    swaps = [i for i in range(len(w) - 1) if w[i] != w[i + 1]]
    ops = ["substitute", "delete", "double"] + (["transpose"] if swaps else [])
    op = ops[int(rng.integers(len(ops)))]
    if op == "transpose":
        i = swaps[int(rng.integers(len(swaps)))]
        new = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    else:
        i = int(rng.integers(len(w)))
        if op == "substitute":
            nb = _KEYBOARD_NEIGHBOURS[w[i]]
            new = w[:i] + nb[int(rng.integers(len(nb)))] + w[i + 1:]
        elif op == "delete":
            new = w[:i] + w[i + 1:]
        else:
            new = w[: i + 1] + w[i:]
    return _with_core(name, core[: m.start()] + new + core[m.end():], span), True


def drop_or_abbreviate_middle(name: str, rng: np.random.Generator) -> tuple[str, bool]:
    """Drop a middle name or cut it to an initial (SITI NUR HALIZAH -> SITI N. HALIZAH / SITI HALIZAH).

    Not applicable to names of one or two words.
    """
    span = _core_span(name)
    core = name[span[0]: span[1]]
    tokens = core.replace(",", " ").split()
    if len(tokens) < 3:
        return name, False
    i = int(rng.integers(1, len(tokens) - 1))
    letters = re.sub("[^A-Za-z]", "", tokens[i])
    if len(letters) <= 1 or rng.random() < 0.5:
        del tokens[i]
    else:
        tokens[i] = letters[0].upper() + "."
    lead = core[: len(core) - len(core.lstrip())]
    trail = core[len(core.rstrip()):]
    return _with_core(name, lead + " ".join(tokens) + trail, span), True


# ------------------------------------------------------------------------------------------------
# Token pools (new spelling; common names, no public figures' full names)
# ------------------------------------------------------------------------------------------------
_M = {
    "jawa_old": """SUPARMAN SUTRISNO SLAMET WAGIMAN SUKIMAN SUGIONO SUYANTO SUPARNO SUGENG SUROTO SUMARNO
        SUWARNO SUDARSONO SUKARDI SUYATNO SUPRAPTO PAIMAN KASMAN TUKIMAN PARJO SARIMAN SUMADI SAMIRAN
        WARSITO DARSONO KUSNADI SUWITO SUMARDI PONIMAN GIYONO SUBAGYO SUNARTO HARYONO HARTONO SUGIARTO
        PURNOMO MARDI SARDI KATIMAN SUPRIYANTO MULYONO RAHARJO PAIJO KARSO WAGINO SUMARJO SUKARMAN
        DARMAN NGADIMAN JUMADI SUKIRNO""",
    "jawa": """JOKO BAMBANG AGUS HERU TEGUH BUDI BAYU WAHYU ARIF HADI SUSILO YULIANTO HENDRO DARMAWAN
        ADI YUDI WAHYUDI ISWANTO RUDI DIDIK SIGIT GATOT BAGUS HARI ANTON ANDI DENI CAHYONO PRIYO
        HARYANTO ARIS EDI SURYA PURWANTO SUSANTO SUDARMAN SETIADI TOTOK NANANG""",
    "sunda": """ASEP UJANG CECEP DADANG ENCEP JAJANG YAYAN DEDEN ACENG MAMAN UCUP OMAN AJAT DEDI DEDE
        ADE DADAN IWAN HENDRA YAYAT UDIN OTONG ENDANG AAN RUHIYAT SOLIHIN KOSASIH SUHERMAN SUPRIATNA
        SUKMANA SUTISNA RUSTANDI SUHENDAR SUNANDAR KARTIWA SAEPUDIN DIDIN NURJAMAN""",
    "islam": """HIDAYAT RAHMAT HASAN HUSEIN YUSUF IBRAHIM ISMAIL ILHAM ARIFIN SYAIFUL SAIFUDIN SYAMSUDIN
        ZAINAL ZAINUDIN FAUZI FAISAL HAMZAH RIDWAN RIZKI FIKRI HAFIZ AKBAR ALI UMAR USMAN HARUN SULAIMAN
        IMRON KHOLIK KHOIRUL MUSTOFA SYAFII ROHMAN SOLEH NASRUDIN JUNAIDI MUKHLIS ZULKIFLI FAHMI HABIB
        NAJIB AMIN AMIRUDIN IRFAN KHAIRUL LUTFI MA'RUF NURHADI NURDIN ABDULLAH IKHSAN ANWAR MANSUR
        JAMALUDIN SAMSUL SYAHRIL IDRIS YAHYA ZAKARIA SALEH MUHSIN HUSNI MUNIR SODIKIN BAHRUDIN ROSYID""",
    "kristen": """YOHANES PAULUS PETRUS MARKUS YAKOBUS MATIUS STEFANUS ANTONIUS FRANSISKUS ANDREAS YOSEF
        DANIEL SAMUEL YONATAN ROBERT HENDRIK FREDI RONALD SIMON LUKAS TIMOTIUS BERNARDUS DOMINIKUS
        KORNELIS GABRIEL BENEDIKTUS ELIAS MIKAEL YOSUA DAVID AGUSTINUS ALBERTUS EMANUEL NIKOLAS
        IGNASIUS YULIUS MARTINUS FILIPUS""",
    "modern": """DIMAS ADITYA RIZKY FAJAR RAFI ARYA KEVIN RAFAEL FARHAN ALIF GILANG ANDIKA DAFFA RAKA
        NAUFAL AZKA ARKAN ZIDAN RAYHAN DAVIN FAREL DANU REZA YOGA ANGGA ALFIAN RENDI ANDRI RIAN ADAM
        ZAKY HAIKAL KENZO ATHAR ABIMANYU BIMA SATRIA GALANG DZAKI AQIL RIZAL ALVIN NATHAN EVAN DAFA""",
    "last": """SANTOSO WIBOWO NUGROHO PRASETYO KURNIAWAN SETIAWAN SAPUTRA SAPUTRO PRATAMA KUSUMA
        HERMAWAN WIJAYA SUGIHARTO HARDIANTO SUHENDRA PUTRA NUGRAHA PERMANA GUNADI WIRAWAN PURNAMA""",
    "last_islam": "RAMADHAN FIRMANSYAH HAKIM MAULANA ARDIANSYAH HIDAYATULLAH SYAHPUTRA SETIABUDI",
}
_F = {
    "jawa_old": """SUGIYEM PAINEM SUPARMI SUMIATI TUMINAH SARINAH WAGINAH SUKINAH PONIYEM SUMARNI SUPINAH
        WARSINI SUGIARTI SUWARNI SUPRIYATIN PARMI TUMIYEM MARSIH SUMINAH KASINAH SUNARSIH SUYATMI SUWARTI
        MULYATI SURATMI SUKARSIH DARMI JUMINAH TUKIYEM SAMIYEM WAGIYEM SUPARTINI SUHARTINI SUMARSIH
        PURWATI WINARSIH KATMI SURTINI PAINAH SAINEM LASMI SARMI SUMIYATI TARMI PARTINAH NGATINEM""",
    "jawa": """RAHAYU WAHYUNI LESTARI HANDAYANI PURWANTI SETYOWATI KUSUMAWATI SUSILOWATI NINGSIH WULANDARI
        ASTUTI YULIANTI ENDANG RATNA YANTI SUSI TUTI WATI NANIK NINIK ENI TITIK INDAH RETNO MURNI SURYANI
        PUJI LILIK WIDYA ANIK ERNA YULI ENDAH RINI DIAH WINARTI SULASTRI SUPRAPTI SRIYATI WIDAYATI
        HERAWATI MARYATI SUWANTI RATIH NUNUK TATIK HARTATI""",
    "sunda": """EUIS NENENG CUCU IIS ENOK ELIS IMAS NINING YAYAH EPON TETI ENTIN ENENG DEDEH EEN ICIH ONAH
        NENGSIH TATI AAM ELA YOYOH IKAH ENUNG NANI NENDEN RIRIN KOKOM EROH EMAH OMAH""",
    "islam": """FATIMAH AISYAH KHADIJAH ZAINAB AMINAH HALIMAH MARYAM KHOIRIYAH NURHAYATI NURJANAH FITRI
        FITRIANI RAHMAWATI HIDAYAH ROHMAH SOLIHAH MUSLIMAH MUNAWAROH ZULAIKHA HASANAH MASITOH SALAMAH
        ROSIDAH NAFISAH ULFA HALIZAH NURLAELA AMALIA ZAHRA ANISA HUSNUL KHOTIMAH SYARIFAH LAILA MUTMAINAH
        FAUZIAH JUBAEDAH ASIAH UMI SA'ADAH NI'MAH KHUSNUL ROFIAH MAEMUNAH ROHANI NURAINI FARIDAH HAFSAH
        SAODAH ISTIQOMAH MUFIDAH LATIFAH SAFITRI SOFIAH""",
    "kristen": """MARIA ESTER KRISTINA MAGDALENA ELISABETH YOHANA MARTA RUTH DEBORA LIDIA AGUSTINA FRANSISKA
        VERONIKA MARGARETHA ROSALINA YULIANA KATARINA SUSANA REBEKA THERESIA ANASTASIA MONIKA ANGELINA
        NATALIA MARIANA SELVIANA YOSEFINA BERTA HANA EUNIKE PRISKILA LUSIA SISILIA""",
    "modern": """PUTRI NABILA AUREL AURELIA KEISHA NAYLA SALSABILA AZZAHRA ANINDYA CANTIKA AMELIA DIVA CINTA
        NADIA TIARA INTAN AYU DIAN RIZKA ANGGI WULAN NOVITA PERMATA CAHAYA BUNGA KIRANA ALYA SYIFA NAJWA
        AQILA KHANZA ALIKA FARAH SAFIRA MELATI CLARISSA JESSICA MEGA SELVI YUNITA DESI MAYA PUSPITA
        ANJANI PRATIWI KARTIKA LARASATI OKTAVIANI NOVIANTI ANGGRAINI FEBRIANTI ADINDA NAURA KAYLA SHAFA""",
    "last": """LESTARI NINGSIH SARI WATI PRATIWI SAPUTRI PERMATASARI PUSPITASARI RAHAYU WULANDARI HANDAYANI
        ANGGRAINI KURNIASIH OKTAVIA FEBRIANI YULIANTI PURNAMASARI MAHARDIKA SETIANINGSIH KUSUMAWARDANI""",
    "last_islam": "RAMADHANI NURHASANAH MAULIDA HIDAYATI ZAHRANI",
}
_PARTICLES_M = {"AHMAD": 0.055, "ABDUL": 0.035, "NUR": 0.012, "EKO": 0.02, "DWI": 0.008, "TRI": 0.008}
_PARTICLES_F = {"SRI": 0.075, "NUR": 0.02, "NURUL": 0.015, "DWI": 0.02, "TRI": 0.015, "DEWI": 0.02, "EKA": 0.008}
_ABDUL_NEXT = """RAHMAN RAHIM AZIS KADIR HAKIM LATIF MALIK GAFAR MAJID WAHAB HAMID ROZAK KARIM SALAM JALIL
    HADI MANAN MUIS BASIR GANI HALIM KHOLIK ROUF SOMAD"""
_BALI_ORDER_M = "WAYAN PUTU GEDE MADE KADEK NYOMAN KOMANG KETUT"
_BALI_ORDER_F = "PUTU WAYAN LUH MADE KADEK NYOMAN KOMANG KETUT"
_BALI_M = """SUDARTA ARTAWAN SUARDANA WIRAWAN MAHENDRA SUJANA ARSANA ADNYANA SUPARTA SUARSANA WIDIANA MERTA
    SUKADANA ARYANA ASTAWA DARMAYASA SUWENA BUDIARTA SUARJANA PARWATA"""
_BALI_F = """ARIANI SUARNI WIDIASIH PURNAMI SUARTINI SRIASIH ARYANI SUARDANI SUDIARI KARIASIH SUKARMI ARTINI
    ASTITI MARTINI DIANTARI WIDIASTUTI SUCIATI SUASTINI WARDANI PURNAMAWATI"""
_MARGA_MUSLIM = "NASUTION LUBIS HARAHAP BATUBARA DAULAY RANGKUTI PULUNGAN HASIBUAN TANJUNG SIREGAR RITONGA MATONDANG"
_MARGA_KRISTEN = """SIMANJUNTAK HUTAPEA SINAGA PANGARIBUAN MANURUNG TAMBUNAN SEMBIRING GINTING TARIGAN
    SITUMORANG SIMATUPANG PANJAITAN HUTAGALUNG NAINGGOLAN SIAHAAN SIHOMBING SILALAHI PARDEDE SARAGIH
    DAMANIK PURBA MARPAUNG SITOMPUL SURBAKTI BANGUN SIREGAR WENAS LUMENTA SUMAMPOUW RUNTUWENE MANOPPO
    LONTOH RONDONUWU POLII MANDAGI KALALO SUMAKUL TUMBELAKA WALANDOUW PATTIASINA"""

# Era: 0 born < 1970, 1 born 1970-1994, 2 born >= 1995. Category popularity by era, and base mass.
_ERA_BREAKS = (1970, 1995)
_CATEGORY_ERA = {
    "jawa_old": (1.0, 0.4, 0.08), "jawa": (0.8, 1.0, 0.5), "sunda": (1.0, 0.8, 0.4),
    "islam": (1.0, 1.0, 1.0), "kristen": (1.0, 1.0, 0.8), "modern": (0.02, 0.3, 1.3),
}
_CATEGORY_MASS = {"jawa_old": 0.22, "jawa": 0.22, "sunda": 0.10, "islam": 0.26, "kristen": 0.06, "modern": 0.14}
_ONE_WORD_BOOST = {"jawa_old": 3.0, "jawa": 1.0, "sunda": 1.5, "islam": 0.8, "kristen": 0.5, "modern": 0.5}
_OLD_ABLE = {"jawa_old", "jawa", "sunda", "islam", "last", "last_islam"}       # Christian names and marga kept as is
_WORD_COUNT_P = ((0.40, 0.45, 0.15), (0.30, 0.52, 0.18), (0.22, 0.52, 0.26))
# Templates for 2- and 3-word names: general Javanese/Sundanese/Muslim, general Christian, Mandailing
# (Muslim) marga, Toba/Karo/Minahasa (Christian) marga, Balinese birth-order names. Words of one name
# come from one religion's pools, so a name never mixes YOHANES with SYAIFUL.
_TEMPLATES = ("general", "general_kristen", "marga_muslim", "marga_kristen", "bali")
_TEMPLATE_P = {2: (0.86, 0.055, 0.025, 0.045, 0.015), 3: (0.80, 0.06, 0.03, 0.07, 0.04)}
_MUHAMMAD_LEAD_SHARE = 0.10                                       # of all men
_SITI_LEAD_SHARE = 0.07                                           # of all women
_SRI_ERA = (1.3, 1.0, 0.4)
_OLD_SPELLING_P = (0.35, 0.02)                                    # born before 1972 / after
_EYD_YEAR = 1972
_ADULT_BEFORE = 2000
_HAJI_P = (0.04, 0.02)                                            # born before 1972 / 1972-1999
_KH_SHARE_OF_OLD_HAJI_MEN = 0.05
_ACADEMIC_PREFIX_P = 0.01
_SUFFIX_P = 0.04
_SECOND_SUFFIX_SHARE = 0.10
_SUFFIX_WEIGHTS = {
    "S.PD.": 25, "S.E.": 12, "S.H.": 8, "S.AG.": 6, "S.KOM.": 6, "S.T.": 6, "A.MD.": 7, "S.SOS.": 5,
    "S.IP.": 3, "S.KM.": 3, "S.KEP.": 3, "S.PD.I.": 4, "S.H.I.": 2, "S.FARM.": 1, "S.P.": 2, "S.SI.": 2,
    "M.M.": 2, "M.PD.": 2, "M.SI.": 1, "S.KED.": 1, "A.MA.": 1,
}
_MASTER_SUFFIXES = ("M.M.", "M.PD.", "M.SI.", "M.H.", "M.T.", "M.AG.", "M.KES.")


def _split(text: str) -> list[str]:
    return text.split()


def _zipf(n: int, s: float = 0.9, offset: float = 2.0) -> np.ndarray:
    """Skewed popularity by listed rank: a few names very common, a long tail."""
    w = 1.0 / (np.arange(n) + offset) ** s
    return w / w.sum()


def _old_form(token: str) -> str:
    return to_old_spelling(token)[0]


@dataclass(frozen=True)
class _Pool:
    """Weighted tokens with their old spellings, plain and space-prefixed for later slots."""

    new: np.ndarray
    old: np.ndarray
    new_sp: np.ndarray
    old_sp: np.ndarray
    cdf: np.ndarray

    @staticmethod
    def build(weights: dict[str, float], old_able: set[str]) -> _Pool:
        tokens = list(weights)
        w = np.array([weights[t] for t in tokens], dtype=float)
        old = [_old_form(t) if t in old_able else t for t in tokens]
        cdf = np.cumsum(w / w.sum())
        cdf[-1] = 1.0
        return _Pool(np.array(tokens, dtype=object), np.array(old, dtype=object),
                     np.array([" " + t for t in tokens], dtype=object),
                     np.array([" " + t for t in old], dtype=object), cdf)

    def draw(self, rng: np.random.Generator, old: np.ndarray, spaced: bool) -> np.ndarray:
        idx = np.minimum(np.searchsorted(self.cdf, rng.random(len(old)), side="right"), len(self.cdf) - 1)
        new, olds = (self.new_sp, self.old_sp) if spaced else (self.new, self.old)
        return np.where(old, olds[idx], new[idx])


def _add(acc: dict[str, float], tokens: list[str], mass: float) -> None:
    for t, p in zip(tokens, _zipf(len(tokens)), strict=True):
        acc[t] = acc.get(t, 0.0) + mass * p


@dataclass(frozen=True)
class _CellPools:
    one: _Pool
    lead: _Pool
    given: _Pool
    last: _Pool
    kristen_given: _Pool
    kristen_last: _Pool
    marga_muslim_given: _Pool
    marga_kristen_given: _Pool


def _given_weights(src: dict[str, str], era: int, cats: tuple[str, ...],
                   boost: dict[str, float] | None = None) -> dict[str, float]:
    acc: dict[str, float] = {}
    for c in cats:
        _add(acc, _split(src[c]), _CATEGORY_MASS[c] * _CATEGORY_ERA[c][era] * (boost or {}).get(c, 1.0))
    return acc


def _general_share(era: int) -> float:
    """P(general template with 2+ words) for an era: the slots a Muhammad/Siti lead can take."""
    _, p2, p3 = _WORD_COUNT_P[era]
    return p2 * _TEMPLATE_P[2][0] + p3 * _TEMPLATE_P[3][0]


_MUSLIM_CATS = ("jawa_old", "jawa", "sunda", "islam", "modern")
_KRISTEN_CATS = ("kristen", "jawa", "modern")
_KRISTEN_BOOST = {"kristen": 4.0}


def _with_last(given: dict[str, float], src: dict[str, str], cats: tuple[str, ...]) -> dict[str, float]:
    """Last-word pool: given names plus surname-like words (SANTOSO, SAPUTRI) that mostly end names."""
    total = sum(given.values())
    last = {t: 0.6 * w / total for t, w in given.items()}
    for c in cats:
        _add(last, _split(src[c]), 0.4 / len(cats))
    return last


def _cell_pools(female: bool, era: int) -> _CellPools:
    src = _F if female else _M
    given = _given_weights(src, era, _MUSLIM_CATS)
    one = _given_weights(src, era, _MUSLIM_CATS + ("kristen",), _ONE_WORD_BOOST)
    kristen = _given_weights(src, era, _KRISTEN_CATS, _KRISTEN_BOOST)
    lead_share = (_SITI_LEAD_SHARE if female else _MUHAMMAD_LEAD_SHARE) / _general_share(era)
    if female:
        lead = {"SITI": lead_share, **_PARTICLES_F, "SRI": _PARTICLES_F["SRI"] * _SRI_ERA[era]}
    else:
        shares = _MUHAMMAD_WEIGHTS / _MUHAMMAD_WEIGHTS.sum()
        lead = {v: lead_share * w for v, w in zip(MUHAMMAD_VARIANTS, shares, strict=True)}
        lead.update(_PARTICLES_M)
    old_able = set(lead) | {t for c in _OLD_ABLE for t in _split(src[c])}
    rest = 1.0 - sum(lead.values())
    total = sum(given.values())
    for t, w in given.items():
        lead[t] = lead.get(t, 0.0) + rest * w / total
    pools = (
        one, lead, given, _with_last(given, src, ("last", "last_islam")), kristen,
        _with_last(kristen, src, ("last",)),
        _given_weights(src, era, ("islam", "modern")), _given_weights(src, era, ("kristen", "modern")),
    )
    return _CellPools(*(_Pool.build(w, old_able) for w in pools))


def _uniform(tokens: str, old_able: bool) -> _Pool:
    toks = _split(tokens)
    return _Pool.build(dict(zip(toks, _zipf(len(toks), s=0.6), strict=True)), set(toks) if old_able else set())


_POOLS: dict[tuple[bool, int], _CellPools] = {}
_ABDUL_POOL = _uniform(_ABDUL_NEXT, True)
_BALI_ORDER = {False: _uniform(_BALI_ORDER_M, True), True: _uniform(_BALI_ORDER_F, True)}
_BALI_GIVEN = {False: _uniform(_BALI_M, True), True: _uniform(_BALI_F, True)}
_MARGA = {"marga_muslim": _uniform(_MARGA_MUSLIM, False), "marga_kristen": _uniform(_MARGA_KRISTEN, False)}


def _pools(female: bool, era: int) -> _CellPools:
    key = (female, era)
    if key not in _POOLS:
        _POOLS[key] = _cell_pools(female, era)
    return _POOLS[key]


# ------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------


def _fill_cell(rng: np.random.Generator, rows: np.ndarray, female: bool, era: int, old: np.ndarray,
               slots: list[np.ndarray]) -> None:
    """Fill the three word slots for the persons ``rows`` of one (sex, era) cell."""
    pools = _pools(female, era)
    n = len(rows)
    p1, p2, _ = _WORD_COUNT_P[era]
    u = rng.random(n)
    wc = np.where(u < p1, 1, np.where(u < p1 + p2, 2, 3))
    tpl_u = rng.random(n)
    first, second, third = slots
    r = rows[wc == 1]
    first[r] = pools.one.draw(rng, old[r], False)
    for k in (2, 3):
        in_k = wc == k
        cum = np.cumsum(_TEMPLATE_P[k])
        tpl = np.minimum(np.searchsorted(cum, tpl_u, side="right"), len(cum) - 1)
        for t, name in enumerate(_TEMPLATES):
            r = rows[in_k & (tpl == t)]
            if not len(r):
                continue
            o = old[r]
            if name.startswith("general"):
                kristen = name == "general_kristen"
                first[r] = (pools.kristen_given if kristen else pools.lead).draw(rng, o, False)
                if k == 3:
                    second[r] = (pools.kristen_given if kristen else pools.given).draw(rng, o, True)
                third[r] = (pools.kristen_last if kristen else pools.last).draw(rng, o, True)
                abdul = (first[r] == "ABDUL") | (first[r] == _old_form("ABDUL"))
                nxt = second if k == 3 else third
                nxt[r[abdul]] = _ABDUL_POOL.draw(rng, o[abdul], True)
            elif name == "bali":
                if k == 3:
                    first[r] = "NI" if female else "I"
                    second[r] = _BALI_ORDER[female].draw(rng, o, True)
                else:
                    first[r] = _BALI_ORDER[female].draw(rng, o, False)
                third[r] = _BALI_GIVEN[female].draw(rng, o, True)
            else:
                given = pools.marga_muslim_given if name == "marga_muslim" else pools.marga_kristen_given
                first[r] = given.draw(rng, o, False)
                if k == 3:
                    second[r] = given.draw(rng, o, True)
                third[r] = _MARGA[name].draw(rng, o, True)


_FALLBACK_WORDS = ("SAPUTRA", "SANTOSO", "LESTARI", "WIJAYA", "RAHAYU", "PRATAMA")


def _dedupe_words(slots: list[np.ndarray], rng: np.random.Generator) -> None:
    """Avoid 'BUDI BUDI': where two slots drew the same word, replace the later one."""
    first, second, third = slots
    spaced_first = " " + first
    for a, b in ((spaced_first, second), (second, third), (spaced_first, third)):
        for i in np.flatnonzero((a == b) & (b != "")):               # rare: ~1% of persons
            alts = [w for w in _FALLBACK_WORDS if " " + w not in (b[i], spaced_first[i], second[i])]
            b[i] = " " + alts[int(rng.integers(len(alts)))]


def _titles(rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix ('DRS. H. ') and suffix (', S.PD.') strings, as registered, for adults only."""
    n = len(female)
    adult = birth_year < _ADULT_BEFORE
    older = birth_year < _EYD_YEAR
    prefix = np.full(n, "", dtype=object)
    suffix = np.full(n, "", dtype=object)
    u_acad, u_kind, u_haji, u_kh, u_suf, u_two = (rng.random(n) for _ in range(6))
    acad = adult & (u_acad < _ACADEMIC_PREFIX_P)
    drs = np.where(female, "DRA. ", "DRS. ")
    older_title = np.where(u_kind < 0.6, drs, np.where(u_kind < 0.85, "IR. ", "DR. "))
    younger_title = np.where(u_kind < 0.5, "IR. ", np.where(u_kind < 0.97, "DR. ", "PROF. DR. "))
    prefix[acad] = np.where(older, older_title, younger_title)[acad]
    haji = adult & (u_haji < np.where(older, _HAJI_P[0], _HAJI_P[1]))
    haji_title = np.where(female, "HJ. ", np.where(older & (u_kh < _KH_SHARE_OF_OLD_HAJI_MEN), "KH. ", "H. "))
    prefix[haji] = prefix[haji] + haji_title[haji]
    suf = adult & ~acad & (u_suf < _SUFFIX_P)
    k = int(suf.sum())
    if k:
        names_ = list(_SUFFIX_WEIGHTS)
        w = np.array([_SUFFIX_WEIGHTS[s] for s in names_], dtype=float)
        first = np.array([", " + s for s in names_], dtype=object)[rng.choice(len(names_), k, p=w / w.sum())]
        second = np.array([", " + s for s in _MASTER_SUFFIXES], dtype=object)[
            rng.integers(len(_MASTER_SUFFIXES), size=k)]
        two = (u_two[suf] < _SECOND_SUFFIX_SHARE) & (first != second)
        suffix[suf] = np.where(two, first + second, first)
    return prefix, suffix


def generate_names(rng: np.random.Generator, is_female: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Full names (upper case, single spaces, object dtype of ``str``) for persons, vectorized.

    ~30% one-word, ~50% two-word, ~20% three-word names (more one-word names among the old); about
    10% of men lead with a Muhammad spelling and 7% of women with SITI; people born before the 1972
    spelling reform carry the old spelling 35% of the time; adults (born before 2000) sometimes carry
    titles, written as registered: ``"DRS. H. AHMAD SYAFII"``, ``"SITI AMINAH, S.PD."``.
    Deterministic for a given generator state; draws depend on the input order.
    """
    female = np.asarray(is_female, dtype=bool).ravel()
    year = np.asarray(birth_year).ravel()
    if female.shape != year.shape:
        raise ValueError(f"is_female and birth_year must have the same length, got {female.shape} and {year.shape}")
    n = len(female)
    era = np.searchsorted(np.asarray(_ERA_BREAKS), year, side="right")
    old = rng.random(n) < np.where(year < _EYD_YEAR, _OLD_SPELLING_P[0], _OLD_SPELLING_P[1])
    slots = [np.full(n, "", dtype=object) for _ in range(3)]
    for sex in (False, True):
        for e in range(len(_ERA_BREAKS) + 1):
            rows = np.flatnonzero((female == sex) & (era == e))
            if len(rows):
                _fill_cell(rng, rows, sex, e, old, slots)
    _dedupe_words(slots, rng)
    prefix, suffix = _titles(rng, female, year)
    return prefix + slots[0] + slots[1] + slots[2] + suffix
