"""Tokens are keyed HMACs, PII encryption round-trips, and key material stays out of plans."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from dtsen.config import ConfigError
from dtsen.privacy import Keys, load_keys, protect_session

MASTER = bytes(range(32))


def test_token_is_hmac_sha256_of_the_value(spark):
    keys = Keys(MASTER)
    df = spark.createDataFrame([("3201011508950001",), (None,)], "nik string")
    got = [r[0] for r in df.select(keys.token(F.col("nik"))).collect()]
    sub = hmac.new(MASTER, b"dtsen/token/v1", hashlib.sha256).digest()
    want = hmac.new(sub, b"3201011508950001", hashlib.sha256).hexdigest()[:32]
    assert got == [want, None]
    assert keys.token_py("3201011508950001") == want
    other = Keys(bytes(range(1, 33)))
    assert other.token_py("3201011508950001") != want


def test_pii_encryption_round_trips_and_is_not_deterministic(spark):
    keys = Keys(MASTER)
    df = spark.createDataFrame([("SITI AMINAH",), ("SITI AMINAH",)], "name string")
    enc = df.select(keys.encrypt(F.col("name")).alias("e"))
    rows = enc.collect()
    assert rows[0]["e"] != rows[1]["e"] and b"SITI" not in bytes(rows[0]["e"])
    assert [r[0] for r in enc.select(keys.decrypt(F.col("e"))).collect()] == ["SITI AMINAH", "SITI AMINAH"]


def test_key_material_is_redacted_from_plans(spark):
    keys = Keys(MASTER)
    protect_session(spark, keys)
    base = spark.createDataFrame([("x",)], "v string")
    df = base.select(keys.token(F.col("v")), keys.encrypt(F.col("v")))
    plan = df._jdf.queryExecution().toString()
    for secret in (keys._ipad.hex(), keys._pii.hex()):
        assert secret.upper() not in plan.upper()
    assert "redacted" in plan.lower()
    assert "redacted" in repr(keys)
    # nor in the names Spark gives unnamed columns (plan redaction does not reach them)
    sealed = base.select(keys.seal({"v": F.col("v")}).alias("s"))
    names = df.columns + sealed.select(keys.decrypt(F.col("s")), keys.unseal(F.col("s"))).columns
    assert not [n for n in names for secret in (keys._ipad.hex(), keys._opad.hex(), keys._pii.hex())
                if secret.upper() in n.upper()], names


def test_key_comes_from_env_or_file_never_conf(conf, tmp_path, monkeypatch):
    monkeypatch.delenv("DTSEN_SECRET_KEY", raising=False)
    monkeypatch.setenv("DTSEN_SECRET_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="no pseudonymization key"):
        load_keys(conf)
    (tmp_path / "k").write_text("not-hex")
    monkeypatch.setenv("DTSEN_SECRET_FILE", str(tmp_path / "k"))
    with pytest.raises(ConfigError, match="must be hex"):
        load_keys(conf)
    monkeypatch.setenv("DTSEN_SECRET_KEY", MASTER.hex())
    assert load_keys(conf).token_py("a") == Keys(MASTER).token_py("a")
