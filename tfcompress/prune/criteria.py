"""How weights are chosen for removal, in numpy only: shared by the Keras 2 (tfmot) and the
Keras 3 (``tfcompress.sparsity``) paths, and free of any TensorFlow or Keras import.

A mask is a boolean array per layer kernel (True = keep). ``select`` turns per-weight scores
(|w| for magnitude, |g * w| for SNIP) into masks that zero exactly ``floor(sparsity * n)``
weights, per layer or with one global ranking; ``m_by_n`` keeps the largest ``n - m`` of every
``n`` consecutive input-channel weights (2:4 sparsity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tfcompress.errors import unknown_name

Masks = dict[str, np.ndarray]
SCOPES = ("layer", "global")


def select(scores: Mapping[str, np.ndarray], sparsity: float, scope: str = "layer",
           keep: Masks | None = None, count: str = "floor") -> Masks:
    """Masks zeroing the lowest-scored weights.

    Args:
      scope: ``layer`` (each layer at ``sparsity``) or ``global`` (one ranking of all).
      keep: earlier masks (iterative pruning): weights already pruned stay pruned and
        count towards ``sparsity``.
      count: how many of n weights go: ``floor`` (floor(sparsity * n)) or ``tfmot``
        (n - max(round(n * (1 - sparsity)), 1) in float32, as tfmot's mask update counts
        them: one weight is always kept).
    """
    if scope not in SCOPES:
        raise unknown_name("prune.scope", scope, SCOPES)
    # Already-pruned weights score -inf: they are the first to go and never come back.
    ranked = {n: np.where(keep[n], s, -np.inf) if keep else s.astype(np.float64)
              for n, s in scores.items()}
    if scope == "layer":
        return {n: _lowest_off(s.ravel(), sparsity, count).reshape(s.shape)
                for n, s in ranked.items()}
    flat = np.concatenate([s.ravel() for s in ranked.values()])
    keep_flat = _lowest_off(flat, sparsity, count)
    out, start = {}, 0
    for n, s in ranked.items():
        out[n] = keep_flat[start:start + s.size].reshape(s.shape)
        start += s.size
    return out


def _lowest_off(scores: np.ndarray, sparsity: float, count: str = "floor") -> np.ndarray:
    if count == "tfmot":  # it keeps at least one weight
        n = np.float32(scores.size)
        k = scores.size - max(int(np.round(n * (np.float32(1.0) - np.float32(sparsity)))), 1)
    else:
        k = int(np.floor(sparsity * scores.size))
    keep = np.ones(scores.size, dtype=bool)
    if k:
        keep[np.argsort(scores, kind="stable")[:k]] = False
    return keep


def report(masks: Masks) -> dict[str, dict[str, Any]]:
    """Per layer: kernel size, zeros and sparsity (the ratios global pruning chose)."""
    return {n: {"params": int(m.size), "zeros": int(m.size - m.sum()),
                "sparsity": float(1 - m.mean())} for n, m in masks.items()}


def overall(masks: Masks) -> float:
    total = sum(m.size for m in masks.values())
    return float(sum(m.size - m.sum() for m in masks.values()) / total)


def groups(kernel: np.ndarray, n: int) -> np.ndarray:
    """The kernel as groups of ``n`` consecutive input-channel weights, the axis TFLite's
    2:4 kernels use (Conv2D [h, w, in, out] and Dense [in, out]: along ``in``)."""
    in_axis = kernel.ndim - 2
    moved = np.moveaxis(kernel, in_axis, -1)  # [..., out, in]
    size = moved.shape[-1]
    if size % n:
        pad = [(0, 0)] * (moved.ndim - 1) + [(0, n - size % n)]
        moved = np.pad(moved, pad)
    return moved.reshape(-1, n)


def check_m_by_n(kernel: np.ndarray, m: int, n: int) -> bool:
    """True when every full group of ``n`` input-channel weights has at most ``n - m``
    non-zeros (exactly, for trained weights: zeros come only from the mask)."""
    if kernel.shape[kernel.ndim - 2] < n:
        return False  # no full group: the layer cannot carry the pattern
    g = groups(kernel, n)
    return bool(np.all(np.count_nonzero(g, axis=1) <= n - m))


def m_by_n(scores: np.ndarray, m: int, n: int) -> np.ndarray:
    """The mask zeroing the ``m`` lowest-scored of every ``n`` consecutive input-channel
    weights of one kernel (a last, partial group is padded and counts as full)."""
    in_axis = scores.ndim - 2
    moved = np.moveaxis(scores, in_axis, -1)
    size = moved.shape[-1]
    g = groups(scores, n)
    keep = np.ones(g.shape, dtype=bool)
    np.put_along_axis(keep, np.argsort(g, axis=1, kind="stable")[:, :m], False, axis=1)
    keep = keep.reshape(*moved.shape[:-1], -1)[..., :size]
    return np.moveaxis(keep, -1, in_axis)
