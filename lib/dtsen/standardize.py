"""Standardized names, codes and addresses as Spark Column expressions (no Python UDFs), and
``per_value``, which computes them once per distinct value.

The name functions are a port of the pure-Python reference in ``dtsen.synth.names`` and are built from
its rule tables and regexes, so a rule changes in one place and both sides follow. They run on ~300M
rows, so everything is ``regexp_replace`` / ``replace`` / ``translate`` that Spark evaluates in the JVM.

Equality with the reference is exact (``tests/test_standardize.py`` checks it row by row), except:

* the reference returns ``''`` for an empty name or key; here that is NULL, as is a NULL input;
* ``strip_titles`` also turns control characters (``\\x00``, ``\\x7f`` ...) into spaces, which the
  reference keeps inside the name; the keys are unaffected (the reference turns them into spaces too);
* U+0130 (İ) and U+212A (KELVIN SIGN) count as the letters I/K in the reference's case-insensitive
  title patterns (it can even raise ``KeyError`` on ``'İR. BUDI'``); here they are never part of a title;
* Spark's ``upper`` follows a newer Unicode than Python 3.11 for three letters (U+019B, U+0264,
  U+1C8A); neither side turns them into A-Z, so only ``strip_titles`` output can differ.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dtsen.synth.names import (
    _SUFFIX_ONE_COMMA_RE,
    _SUFFIX_ONE_TRAILING_RE,
    KEY_DELETE_CHARS,
    KEY_SPELLING_RULES,
    MUHAMMAD,
    MUHAMMAD_KEY_TOKENS,
    PHONETIC_RULES,
    PREFIX_TITLE_ALIASES,
    PREFIX_TITLES_PATTERN,
    SUFFIX_TITLES_COMMA_PATTERN,
    SUFFIX_TITLES_TRAILING_PATTERN,
    TITLES_SUFFIX,
)

__all__ = [
    "clean_name",
    "digits_only",
    "join_values",
    "name_key",
    "normalize_address",
    "per_value",
    "phonetic_key",
    "region_code",
    "strip_titles",
    "titles",
]

# Python's \s (str.isspace) is wider than Java's [ \t\n\x0B\f\r]: every such character becomes a plain
# space first, so both engines see the same string. All of them lie below U+3001.
_PY_WHITESPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())
_TO_SPACE = (_PY_WHITESPACE, " " * len(_PY_WHITESPACE))
_JAVA_WS = "[" + "".join(f"\\u{ord(ch):04x}" for ch in _PY_WHITESPACE) + "]"
_BLANKS = rf"(?:{_JAVA_WS}|\p{{Cc}})+"                   # whitespace and control characters

# Single-title patterns: names.py exports only the whole-run patterns, so take its compiled singles.
_SUFFIX_ONE_COMMA = _SUFFIX_ONE_COMMA_RE.pattern
_SUFFIX_ONE_TRAILING = _SUFFIX_ONE_TRAILING_RE.pattern
_SUFFIX_CANONICAL = {re.sub("[^A-Z]", "", t): t for t in TITLES_SUFFIX}     # 'SPD' -> 'S.PD.'
if re.compile(SUFFIX_TITLES_TRAILING_PATTERN).groups:
    raise ValueError("SUFFIX_TITLES_TRAILING_PATTERN must not capture: _TRAILING_UNLESS_AT_START relies on it")
# One pass for "cut the leftmost trailing-title match unless it starts at 0": a match at 0 is put
# back through group 1, any later one is replaced by the empty, non-participating group 1.
_TRAILING_UNLESS_AT_START = f"^({SUFFIX_TITLES_TRAILING_PATTERN})|{SUFFIX_TITLES_TRAILING_PATTERN}"


def _alternation(words: frozenset[str]) -> str:
    if not all(re.fullmatch("[A-Z]+", w) for w in words):
        raise ValueError(f"key tokens must be A-Z words, got {sorted(words)}")
    return "|".join(sorted(words, key=lambda w: (-len(w), w)))


_MUHAMMAD_TOKEN = rf"\b(?:{_alternation(MUHAMMAD_KEY_TOKENS)})\b"


def _map_literal(mapping: dict[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for kv in sorted(mapping.items()) for x in kv])


def _null_if_empty(c: Column) -> Column:
    return F.when(c != "", c)


def _squeeze(c: Column, blanks: str = _BLANKS) -> Column:
    """Runs of ``blanks`` to one space, trimmed, '' -> NULL."""
    return _null_if_empty(F.trim(F.regexp_replace(c, blanks, " ")))


# ------------------------------------------------------------------------------------------------
# Names
# ------------------------------------------------------------------------------------------------


def clean_name(c: Column) -> Column:
    """Upper case, whitespace and control characters to single spaces, trimmed; NULL/blank -> NULL."""
    return _squeeze(F.upper(c))


def _upper(c: Column) -> Column:
    """Upper case with every Python whitespace as a space, not trimmed.

    Not trimmed on purpose: the reference searches suffix titles from the end of the prefix titles,
    and with leading spaces and no prefix a name made only of titles ('  S.PD. M.M.') keeps them all.
    """
    return F.translate(F.upper(c), *_TO_SPACE)


def _without_prefix(up: Column) -> Column:
    return F.regexp_replace(up, PREFIX_TITLES_PATTERN, "")


def _core(rest: Column) -> Column:
    """The name between prefix and suffix titles, as ``names._core_span`` cuts it (raw spacing).

    The reference cuts the comma titles first, then the trailing ones only if the leftmost match
    does not start right at the name: that happens only when the name starts with a space (no
    prefix titles) and is nothing but titles.
    """
    before_comma = F.regexp_replace(rest, SUFFIX_TITLES_COMMA_PATTERN, "")
    return F.regexp_replace(before_comma, _TRAILING_UNLESS_AT_START, "$1")


def strip_titles(c: Column) -> Column:
    """The name without prefix/suffix titles, like ``names.split_titles(x)[0]``, cleaned as ``clean_name``.

    Commas inside the name become spaces, as in the reference ('SITI, AMINAH' -> 'SITI AMINAH').
    """
    return _squeeze(_core(_without_prefix(_upper(c))), rf"(?:{_BLANKS}|,)+")


def titles(c: Column) -> Column:
    """Titles in canonical upper-case form and written order, like ``names.split_titles(x)[1]``.

    ``[]`` when the name carries none; NULL for a NULL name. Unknown dotted abbreviations after a comma
    ('M.B.A.') are kept as written without spaces, as the reference does.
    """
    up = _upper(c)
    prefix = F.regexp_extract(up, PREFIX_TITLES_PATTERN, 0)
    # Each prefix title is a run of letters ended by a dot or a space, so its letters are its alias.
    prefix_titles = F.transform(
        F.regexp_extract_all(prefix, F.lit("[A-Z]+"), 0),
        lambda a: F.try_element_at(_map_literal(PREFIX_TITLE_ALIASES), a),
    )
    rest = F.substring(up, F.length(prefix) + 1, 1 << 30)
    tail = F.substring(rest, F.length(_core(rest)) + 1, 1 << 30)
    found = F.when(F.instr(tail, ",") > 0, F.regexp_extract_all(tail, F.lit(_SUFFIX_ONE_COMMA), 0)).otherwise(
        F.regexp_extract_all(tail, F.lit(_SUFFIX_ONE_TRAILING), 0))
    suffix_titles = F.transform(found, lambda t: F.coalesce(
        F.try_element_at(_map_literal(_SUFFIX_CANONICAL), F.regexp_replace(t, "[^A-Z]", "")),
        F.regexp_replace(t, " +", ""),
    ))
    return F.when(c.isNotNull(), F.concat(prefix_titles, suffix_titles))


def _name_key_or_empty(c: Column) -> Column:
    s = F.translate(_core(_without_prefix(_upper(c))), KEY_DELETE_CHARS, "")
    s = F.trim(F.regexp_replace(s, "[^A-Z]+", " "))
    s = reduce(lambda acc, rule: F.replace(acc, F.lit(rule[0]), F.lit(rule[1])), KEY_SPELLING_RULES, s)
    return F.regexp_replace(s, _MUHAMMAD_TOKEN, MUHAMMAD)


def name_key(c: Column) -> Column:
    """Matching key, equal to ``names.name_key``: titles stripped, A-Z words, old spelling and Muhammad
    variants folded. NULL when nothing is left ('', '...', NULL) so empty keys never block together."""
    return _null_if_empty(_name_key_or_empty(c))


def _letters(pattern: str) -> set[str] | None:
    """The letters a rule pattern matches if it is one letter or a letter class ('Q', '[FV]')."""
    m = re.fullmatch(r"([A-Z])|\[([A-Z]+)\]", pattern)
    return set(m.group(1) or m.group(2)) if m else None


def _phonetic_steps(rules: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str]]:
    """Rules as (kind, from, to) steps, in order, each run by the cheapest equivalent Spark function.

    Consecutive letter-to-letter rules become one ``translate`` as long as no rule reads a letter an
    earlier rule in the group reads or writes (so one simultaneous pass equals the sequence); plain
    literals use ``replace``; the rest stay ``regexp_replace``. Rules are never reordered: merging
    across them changes results ('TSY': SY->S must run before TS->S).
    """
    steps: list[tuple[str, str, str]] = []
    for pattern, repl in rules:
        letters = _letters(pattern)
        if letters is not None and re.fullmatch("[A-Z]", repl):
            if steps and steps[-1][0] == "translate" and not letters & set(steps[-1][1] + steps[-1][2]):
                _, src, dst = steps.pop()
            else:
                src = dst = ""
            steps.append(("translate", src + "".join(sorted(letters)), dst + repl * len(letters)))
        elif re.fullmatch("[A-Z]+", pattern) and re.fullmatch("[A-Z]*", repl):
            steps.append(("replace", pattern, repl))
        else:
            steps.append(("regexp_replace", pattern, repl))
    return steps


_PHONETIC_STEPS = _phonetic_steps(PHONETIC_RULES)


def _apply_step(s: Column, step: tuple[str, str, str]) -> Column:
    kind, src, dst = step
    if kind == "translate":
        return F.translate(s, src, dst)
    if kind == "replace":
        return F.replace(s, F.lit(src), F.lit(dst))
    return F.regexp_replace(s, src, dst)


def phonetic_key(c: Column) -> Column:
    """Sound code of ``name_key``, equal to ``names.phonetic_key``; NULL when the key is.

    ``PHONETIC_RULES`` run in order, one pass each except where a cheaper equivalent exists
    (see ``_phonetic_steps``): at national scale every regex pass counts.
    """
    return _null_if_empty(reduce(_apply_step, _PHONETIC_STEPS, _name_key_or_empty(c)))


def phonetic_of_key(key: Column) -> Column:
    """``phonetic_key`` from an already computed ``name_key`` column (saves recomputing the key)."""
    return _null_if_empty(reduce(_apply_step, _PHONETIC_STEPS, F.coalesce(key, F.lit(""))))


# ------------------------------------------------------------------------------------------------
# Codes
# ------------------------------------------------------------------------------------------------


def digits_only(c: Column) -> Column:
    """Only ASCII digits, for NIK/KK/codes delivered with dots, spaces or dashes; no digits -> NULL."""
    return _null_if_empty(F.regexp_replace(c, "[^0-9]+", ""))


def region_code(c: Column) -> Column:
    """Kemendagri region code as stored (no dots): '32.01.01.1001' -> '3201011001'; blank -> NULL.

    The length (2/4/6/10 digits for province/regency/district/village) is not checked here: a wrong
    code is bad data for the contract stage to quarantine with a reason, not something to hide.
    """
    return digits_only(c)


# ------------------------------------------------------------------------------------------------
# Addresses
# ------------------------------------------------------------------------------------------------

_NOT_AFTER_LETTER = "(?<![A-Z])"
_WORD_END = r"(?![A-Z])\s*[.:]*"              # a whole word, with any dot/colon written after it
_ADDRESS_WORDS: tuple[tuple[str, str], ...] = (
    ("JALAN|JLN|JL", "JL. "),
    ("GANG|GG", "GG. "),
    ("NOMOR|NO", "NO. "),
    ("DUSUN|DSN", "DSN. "),
    ("KOMPLEKS|KOMPLEK|KOMP", "KOMP. "),
    ("PERUMAHAN|PERUM", "PERUM. "),
)
"""(alternatives, canonical form); a trailing space keeps 'JL.MERDEKA' apart, and is squeezed later."""
_NUMBER = r"\s*[.:]?\s*0*(\d{1,3})(?!\d)"
_RT_RW_PAIR = (rf"{_NOT_AFTER_LETTER}RT\s*[./]?\s*RW{_NUMBER}\s*/{_NUMBER}", "RT 00$1 RW 00$2 ")
"""'RT/RW 3/5', 'RT.RW: 003/005' -> 'RT 003 RW 005' (zeros padded by the next rules)."""
_RT_RW_RULES: tuple[tuple[str, str], ...] = (
    _RT_RW_PAIR,
    (rf"{_NOT_AFTER_LETTER}(RT|RW){_NUMBER}(?:\s*/(?=\s*RW))?", "$1 00$2 "),   # 'RT.3/RW.5', 'RT03'
    (rf"{_NOT_AFTER_LETTER}(RT|RW) 0*(\d{{3}})(?!\d)", "$1 $2"),     # keep the last three digits
)


def normalize_address(c: Column) -> Column:
    """Upper case, single spaces, common words in one spelling: JL., GG., NO., DSN., KOMP., PERUM.,
    and 'RT 003' / 'RW 005' with three digits, so the same address compares equal across agencies.

    Idempotent. Words are matched whole ('JLN' but not 'JLNX', 'PERUM' but not 'PERUMNAS'); RT/RW
    numbers longer than three digits are left as written.
    """
    s = F.upper(c)
    for words, canonical in _ADDRESS_WORDS:
        s = F.regexp_replace(s, f"{_NOT_AFTER_LETTER}(?:{words}){_WORD_END}", canonical)
    for pattern, replacement in _RT_RW_RULES:
        s = F.regexp_replace(s, pattern, replacement)
    return _squeeze(s)


def per_value(df: DataFrame, column: str, derive: Callable[[DataFrame], DataFrame]) -> DataFrame:
    """df with the columns `derive` adds to the distinct values of `column` (a frame of one column,
    `__v`), computed once per value and joined back (NULL joins NULL). Names and addresses repeat: the
    1M-resident registry's 1.01M rows hold 333k distinct names and 2,400 distinct addresses, and the
    name rules cost ~100 us a value."""
    return join_values(df, column, derive(df.select(F.col(column).alias("__v")).distinct()))


def join_values(df: DataFrame, column: str, values: DataFrame) -> DataFrame:
    """df with the columns of `values` (one row per distinct `__v`, as ``per_value`` derives them)
    joined on `column` (NULL joins NULL)."""
    return df.join(values, df[column].eqNullSafe(values["__v"]), "left").drop("__v")
