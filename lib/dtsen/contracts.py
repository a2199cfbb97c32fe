"""Data contracts: how each agency delivers its data, read from conf/base/contracts/<source>.yml.

A changed agency format is a config change: field names, types, required fields, value domains
and checks all live in the contract. A broken contract stops the run with a message naming the
source, the field and what to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dtsen.config import Config, ConfigError

TYPES = {"nik", "kk", "name", "text", "address", "date", "enum", "int", "decimal", "region", "id", "code"}
FORMATS = {"csv", "jsonl", "parquet"}
REGION_DIGITS = {"province": 2, "regency": 4, "district": 6, "village": 10}


@dataclass(frozen=True)
class Field:
    source_name: str            # the agency's column name
    name: str                   # canonical name
    type: str
    required: bool = False
    pii: bool = False           # kept only (encrypted) in the restricted PII table
    format: str | None = None   # date pattern (Spark datetime pattern)
    values: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    level: str | None = None    # region level
    decimal_comma: bool = False

    @property
    def is_identity(self) -> bool:
        """Identifiers that are tokenized below bronze and never stored raw."""
        return self.type in ("nik", "kk", "id")


@dataclass(frozen=True)
class Contract:
    source: str
    version: str
    format: str
    silver: str
    fields: tuple[Field, ...]
    delimiter: str | None = None
    encoding: str = "utf-8"
    unique: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    nik_check: dict | None = None

    def field(self, canonical: str) -> Field | None:
        return next((f for f in self.fields if f.name == canonical), None)

    @property
    def source_names(self) -> list[str]:
        return [f.source_name for f in self.fields]

    @property
    def required_source_names(self) -> list[str]:
        return [f.source_name for f in self.fields if f.required]


def _field(source: str, src_name: str, spec: dict) -> Field:
    where = f"contract '{source}', field '{src_name}'"
    if not isinstance(spec, dict) or "to" not in spec or "type" not in spec:
        raise ConfigError(f"{where}: needs 'to' (canonical name) and 'type'")
    typ = spec["type"]
    if typ not in TYPES:
        raise ConfigError(f"{where}: unknown type '{typ}' (one of {sorted(TYPES)})")
    if typ == "date" and not spec.get("format"):
        raise ConfigError(f"{where}: a date needs 'format' (e.g. dd-MM-yyyy)")
    if typ == "enum" and not spec.get("values"):
        raise ConfigError(f"{where}: an enum needs 'values' (agency value -> canonical value)")
    if typ == "region" and spec.get("level") not in REGION_DIGITS:
        raise ConfigError(f"{where}: a region needs 'level' (one of {list(REGION_DIGITS)})")
    unknown = set(spec) - {"to", "type", "required", "pii", "format", "values", "min", "max", "level",
                           "decimal_comma"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return Field(src_name, spec["to"], typ, bool(spec.get("required", False)),
                 bool(spec.get("pii", typ in ("name", "address"))), spec.get("format"),
                 {str(k): str(v) for k, v in (spec.get("values") or {}).items()},
                 spec.get("min"), spec.get("max"), spec.get("level"), bool(spec.get("decimal_comma", False)))


def load_contract(conf: Config, source: str) -> Contract:
    contracts = conf.section("contracts")
    if source not in contracts:
        raise ConfigError(f"no data contract for source '{source}' (have: {sorted(contracts)}; "
                          "add conf/base/contracts/<source>.yml)")
    c = contracts[source]
    where = f"contract '{source}'"
    for key in ("version", "format", "silver", "fields"):
        if key not in c:
            raise ConfigError(f"{where}: missing '{key}'")
    if c["format"] not in FORMATS:
        raise ConfigError(f"{where}: format '{c['format']}' is not one of {sorted(FORMATS)}")
    if c["format"] == "csv" and not c.get("delimiter"):
        raise ConfigError(f"{where}: a csv contract needs 'delimiter'")
    fields = tuple(_field(source, name, spec) for name, spec in c["fields"].items())
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two fields map to the same canonical name")
    unique = tuple(c.get("unique", []))
    missing = set(unique) - {f.source_name for f in fields}
    if missing:
        raise ConfigError(f"{where}: 'unique' names unknown fields {sorted(missing)}")
    check = (c.get("checks") or {}).get("nik_vs_birth")
    if check:
        for role in ("nik", "birth_date"):
            if check.get(role) not in names:
                raise ConfigError(f"{where}: checks.nik_vs_birth.{role} must name a canonical field")
        if check.get("severity", "reject") not in ("reject", "flag"):
            raise ConfigError(f"{where}: checks.nik_vs_birth.severity must be 'reject' or 'flag'")
    return Contract(source, str(c["version"]), c["format"], c["silver"], fields, c.get("delimiter"),
                    c.get("encoding", "utf-8"), unique, dict(c.get("aliases") or {}), check)


def sources(conf: Config) -> list[str]:
    return sorted(conf.section("contracts"))
