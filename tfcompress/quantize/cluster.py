"""Weight clustering (Han et al.'s Deep Compression weight sharing) with tfmot.

Each clustered kernel is replaced by ``clusters`` centroids and an index per weight; after
fine-tuning and ``strip`` the kernel holds at most that many distinct values, which is what
lets gzip shrink the file further (TFLite stores the values, not the indices). Conv2D and
Dense kernels are clustered (depthwise ones stay as they are, as for pruning).
"""

from __future__ import annotations

from collections.abc import Sequence
import numpy as np

from tfcompress._keras import keras, tfmot
from tfcompress.errors import InputError
from tfcompress.prune import masks
from tfcompress.quantize import CLUSTER_INITS

_C = tfmot.clustering.keras
# tfmot's centroid initialisations ``cluster.init`` names (``quantize.CLUSTER_INITS``)
KMEANS_PLUS_PLUS = _C.CentroidInitialization.KMEANS_PLUS_PLUS
LINEAR = _C.CentroidInitialization.LINEAR
DENSITY_BASED = _C.CentroidInitialization.DENSITY_BASED
RANDOM = _C.CentroidInitialization.RANDOM


def apply(model: keras.Model, clusters: int, init: str = "kmeans_plus_plus", *,
          preserve_sparsity: bool = False, skip: Sequence[str] = ()) -> keras.Model:
    """``model`` with clustering wrappers on its Conv2D / Dense layers (minus ``skip``).

    Raises:
      InputError: an unknown layer in ``skip``, or a nested model.
    """
    chosen = {l.name for l in masks.prunable(model, skip)}
    if any(isinstance(l, keras.Model) for l in model.layers):
        raise InputError("cluster: the model has a nested model; tfmot clusters flat models "
                         "only")
    params = {"number_of_clusters": clusters, "cluster_centroids_init": CLUSTER_INITS.get(init),
              "preserve_sparsity": preserve_sparsity}
    # cluster_weights wraps (and later changes) the very layer it is given: wrap the layers
    # of a copy, which holds the trained weights the centroids are computed from
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    with _C.cluster_scope():
        return keras.models.clone_model(copy, clone_function=lambda l: _C.cluster_weights(
            l, **params) if l.name in chosen else l)


def strip(model: keras.Model) -> keras.Model:
    """The plain model with the clustered values written into its kernels."""
    return _C.strip_clustering(model)


def unique_values(model: keras.Model) -> dict[str, int]:
    """Distinct values per Conv2D / Dense kernel (after ``strip``)."""
    return {l.name: int(np.unique(l.kernel.numpy()).size) for l in masks.candidates(model)}
