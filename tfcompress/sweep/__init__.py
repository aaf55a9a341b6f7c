"""Sweeps: keras-tuner searches over how a variant is compressed, scored on the measured
accuracy, size and latency of its TFLite file (see ``tfcompress.sweep.search``).

Only names live here, so that recipes validate without importing keras-tuner.
"""

#: keras-tuner oracles a recipe may name (``sweep.tuner``).
TUNERS = ("random", "bayesian", "hyperband")
#: How a trial is scored (``sweep.objective``; ``tfcompress.sweep.objective``).
OBJECTIVES = ("constrained", "weighted")
#: Kinds of search-space dimension (``Param.kind``).
PARAM_KINDS = ("float", "int", "choice")
