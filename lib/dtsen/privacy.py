"""Pseudonymization: keyed HMAC tokens for identifiers, AES-GCM for the restricted PII table.

The master key comes from the environment (DTSEN_SECRET_KEY, hex) or a secret file
(DTSEN_SECRET_FILE, default from conf `privacy.key_file`), never from conf itself, the repo or
logs. Separate sub-keys are derived per purpose, so a token key leak does not open the PII table.
Everything runs as Spark built-in expressions (sha2, aes_encrypt); the key material they carry as
literals is redacted from plans and the UI by `spark.sql.redaction.string.regex`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from dtsen.config import Config, ConfigError, resolve_path

_HEX = re.compile(r"^[0-9a-fA-F]{32,}$")
TOKEN_HEX_CHARS = 32          # 128-bit tokens: collision-free at national scale, half the storage


class Keys:
    """Derived sub-keys. Build once per job with `load_keys`; do not print or log."""

    def __init__(self, master: bytes) -> None:
        if len(master) < 16:
            raise ConfigError("the pseudonymization key must be at least 16 bytes (32 hex characters)")
        self._token = hmac.new(master, b"dtsen/token/v1", hashlib.sha256).digest()
        self._pii = hmac.new(master, b"dtsen/pii-aes/v1", hashlib.sha256).digest()   # 32 bytes: AES-256
        block = self._token.ljust(64, b"\x00")
        self._ipad = bytes(b ^ 0x36 for b in block)
        self._opad = bytes(b ^ 0x5C for b in block)

    def __repr__(self) -> str:          # never show key material, even by accident
        return "Keys(<redacted>)"

    def token_py(self, value: str) -> str:
        """Reference implementation (used by tests and small lookups)."""
        return hmac.new(self._token, value.encode("utf-8"), hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]

    # Every column below is named: Spark names an unnamed one after its expression, key literals
    # included, and plan redaction does not reach a DataFrame's column names or a pandas header.

    def token(self, c: Column) -> Column:
        """HMAC-SHA256(key, value) as hex, from Spark built-ins; NULL stays NULL."""
        inner = F.unhex(F.sha2(F.concat(F.lit(self._ipad), F.encode(c, "UTF-8")), 256))
        out = F.substring(F.sha2(F.concat(F.lit(self._opad), inner), 256), 1, TOKEN_HEX_CHARS)
        return F.when(c.isNull(), F.lit(None).cast("string")).otherwise(out).alias("token")

    def encrypt(self, c: Column) -> Column:
        """AES-256-GCM (random IV per value): the PII table's encrypted columns."""
        return F.when(c.isNull(), F.lit(None).cast("binary")).otherwise(
            F.aes_encrypt(c.cast("string"), F.lit(self._pii), F.lit("GCM"))).alias("encrypted")

    def decrypt(self, c: Column) -> Column:
        return F.aes_decrypt(c, F.lit(self._pii), F.lit("GCM")).cast("string").alias("decrypted")

    def seal(self, fields: dict[str, Column]) -> Column:
        """One AES-256-GCM ciphertext of a record's personal fields as a JSON object (NULL fields left
        out): one cipher call per row, where a column per field cost one each (~16 us per call)."""
        return self.encrypt(F.to_json(F.struct(*[c.cast("string").alias(n) for n, c in fields.items()])))

    def unseal(self, c: Column) -> Column:
        """The sealed fields as map<string,string> (field -> value)."""
        return F.from_json(self.decrypt(c), "map<string,string>").alias("unsealed")

    def redaction_regex(self) -> str:
        """Matches the hex form of every key literal, for spark.sql.redaction.string.regex."""
        parts = [k.hex() for k in (self._ipad, self._opad, self._pii)]
        return "(?i)(" + "|".join(parts) + ")"


def load_keys(conf: Config) -> Keys:
    raw = os.environ.get("DTSEN_SECRET_KEY")
    if raw is None:
        path = os.environ.get("DTSEN_SECRET_FILE") or resolve_path(conf.get("privacy.key_file"))
        if not os.path.exists(path):
            raise ConfigError(f"no pseudonymization key: set DTSEN_SECRET_KEY (hex) or create the secret file "
                              f"{path} (bin/setup makes one for the local demo)")
        with open(path) as fh:
            raw = fh.read().strip()
    if not _HEX.match(raw):
        raise ConfigError("the pseudonymization key must be hex, at least 32 characters (DTSEN_SECRET_KEY or "
                          "the secret file)")
    return Keys(bytes.fromhex(raw))


def protect_session(spark: SparkSession, keys: Keys) -> None:
    """Redact key literals from query plans, EXPLAIN output and the Spark UI."""
    spark.conf.set("spark.sql.redaction.string.regex", keys.redaction_regex())
