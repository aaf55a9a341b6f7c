"""Sweeps: keras-tuner searches over how a variant is compressed, scored on the measured
accuracy, size and latency of its TFLite file (see ``tfcompress.sweep.search``).

Only names live here, so that recipes validate without importing keras-tuner.
"""

from tfcompress.registry import Registry

#: keras-tuner oracles a recipe may name (``sweep.tuner``) -> ``f(spec, **common) -> Oracle``.
TUNERS: Registry = Registry(
    "sweep.tuner",
    {
        "random": "tfcompress.sweep.tuner:random_oracle",
        "bayesian": "tfcompress.sweep.tuner:bayesian_oracle",
        "hyperband": "tfcompress.sweep.tuner:hyperband_oracle",
    },
)
#: How a trial is scored (``sweep.objective``; ``tfcompress.sweep.objective``).
OBJECTIVES = ("constrained", "weighted")
#: Kinds of search-space dimension (``Param.kind``).
PARAM_KINDS = ("float", "int", "choice")
