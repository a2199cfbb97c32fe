"""Counter-based randomness: a value is a pure function of (seed, stream, key).

Attributes that must stay the same for an entity across cycles (a family's housing noise, a
person's disability) are drawn from the entity's key, not from a generator's position, so that
evolving the population or re-chunking it never reshuffles them.
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def keyed_bits(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    k = np.asarray(keys).astype(np.uint64)
    with np.errstate(over="ignore"):
        s = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _GOLDEN + np.uint64(stream))
        return _mix(k * _GOLDEN + s)


def keyed_uniform(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) per key."""
    return (keyed_bits(seed, stream, keys) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def keyed_normal(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """Standard normal per key (Box-Muller on two keyed uniforms)."""
    u1 = keyed_uniform(seed, stream * 2 + 1, keys)
    u2 = keyed_uniform(seed, stream * 2 + 2, keys)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def probit(p: float) -> float:
    return NormalDist().inv_cdf(p)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
