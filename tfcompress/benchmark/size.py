"""Sizes that matter for shipping: file bytes raw and gzipped, parameters and non-zeros."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np


def file_sizes(content: bytes) -> dict[str, int]:
    """Raw and gzip (level 9) size in bytes; gzip is what an app download or zip sees."""
    return {"bytes": len(content), "gzip_bytes": len(gzip.compress(content, compresslevel=9,
                                                                   mtime=0))}


def count_weights(model: Any) -> dict[str, int]:
    """Parameters and non-zero parameters of a Keras model (all weights, trainable or not)."""
    weights = model.get_weights()
    return {"params": int(sum(w.size for w in weights)),
            "nonzero_params": int(sum(np.count_nonzero(w) for w in weights))}
