"""Configuration as code: YAML files in conf/<env>/ layered over conf/base/.

Every tunable (table locations, rates, thresholds, program rules) lives in conf/; code reads it
through `Config.get("dotted.key")`, which fails with a message that names the key and the files to
fix instead of a bare KeyError deep inside a job.
"""
from __future__ import annotations

import os
import re
from copy import deepcopy
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MISSING = object()


class ConfigError(ValueError):
    """Bad or missing configuration: the run stops with a message saying what to fix."""


def _deep_merge(base: dict, override: dict) -> dict:
    out = deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = deepcopy(value)
    return out


def _expand_env(value: Any) -> Any:
    """Expand ${VAR} and ${VAR:-default} in strings, so deployments differ by environment only."""
    if isinstance(value, str):
        def repl(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            got = os.environ.get(name)
            if got is None:
                if default is None:
                    raise ConfigError(f"conf refers to ${{{name}}} but it is not set; export it or add a default")
                return default
            return got
        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    return value


class Config:
    """Merged configuration of one environment (base + overlay)."""

    def __init__(self, data: dict, sources: list[Path], env: str) -> None:
        self._data = data
        self.sources = sources
        self.env = env

    def get(self, key: str, default: Any = _MISSING) -> Any:
        node: Any = self._data
        for part in key.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                if default is not _MISSING:
                    return default
                where = ", ".join(str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)
                                  for p in self.sources)
                raise ConfigError(f"missing config key '{key}' (env '{self.env}'; read {where})")
        return node

    def section(self, key: str) -> dict:
        value = self.get(key)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return value

    def as_dict(self) -> dict:
        return deepcopy(self._data)

    def with_overrides(self, overrides: dict) -> Config:
        """A copy with some keys replaced (used by tests and CLI flags)."""
        return Config(_deep_merge(self._data, overrides), self.sources, self.env)


def conf_dir() -> Path:
    return Path(os.environ.get("DTSEN_CONF", PROJECT_ROOT / "conf"))


def load_config(env: str | None = None, root: Path | None = None) -> Config:
    """Load conf/base/*.yml, then conf/<env>/*.yml over it (env from DTSEN_ENV, default 'local')."""
    env = env or os.environ.get("DTSEN_ENV", "local")
    root = root or conf_dir()
    base = root / "base"
    if not base.is_dir():
        raise ConfigError(f"config folder {base} not found: set DTSEN_CONF to the project's conf/ folder")
    files = sorted(base.rglob("*.yml"))
    overlay = root / env
    if env != "base":
        if not overlay.is_dir():
            raise ConfigError(f"unknown environment '{env}': no folder {overlay} (DTSEN_ENV)")
        files += sorted(overlay.rglob("*.yml"))
    data: dict = {}
    for path in files:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        data = _deep_merge(data, loaded)
    return Config(_expand_env(data), files, env)


def resolve_path(value: str | os.PathLike) -> str:
    """Relative paths in conf are relative to the project root; URIs (s3a://, abfss://) pass through."""
    text = str(value)
    if "://" in text or os.path.isabs(text):
        return text
    return str(PROJECT_ROOT / text)
