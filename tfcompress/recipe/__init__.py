"""Recipes: an experiment as plain, validated data.

Modules: ``core`` (Recipe, derive, profiles, BenchmarkSpec), ``baseline`` (data, model,
training), ``variant`` (the stages and the export of a variant), ``curve`` (accuracy and CPU
time over pruning ratios without retraining), ``sweep``, ``overrides``,
``checks`` (shared validation), ``hashing`` (cache keys).

A recipe names a baseline (data, model, training) and the variants that branch from it
(pruned or not, exported as float32 / dynamic-range / int8 TFLite), so one run compares them
side by side. Recipes hold no TensorFlow objects: every name in them is resolved by a
``Registry`` when the pipeline runs. Profiles (``tiny``/``quick``/``full``) and the CLI's
``--override key=value`` use the same mechanism: dotted paths applied with ``dataclasses.replace``,
so each change is validated again by ``__post_init__``.
"""

from tfcompress.recipe.baseline import DataSpec, ModelSpec, TrainSpec, TransferSpec
from tfcompress.recipe.checks import LATER, MAX_EPOCHS, MAX_SEED, NAME_PATTERN
from tfcompress.recipe.core import (DEFAULT_PROFILE, PROFILES, BenchmarkSpec, Recipe,
                                    derive)
from tfcompress.recipe.curve import CURVE_CRITERIA, CurveSpec
from tfcompress.recipe.hashing import fingerprint
from tfcompress.recipe.overrides import apply_overrides, parse_override
from tfcompress.recipe.sweep import Param, SweepSpec
from tfcompress.recipe.variant import (ClusterSpec, DistillSpec, ExportSpec, PruneSpec,
                                       QatSpec, SensitivitySpec, Variant)

__all__ = ["BenchmarkSpec", "CURVE_CRITERIA", "ClusterSpec", "CurveSpec", "DEFAULT_PROFILE",
           "DataSpec", "DistillSpec",
           "ExportSpec", "LATER", "MAX_EPOCHS", "MAX_SEED", "ModelSpec", "NAME_PATTERN",
           "PROFILES", "Param", "PruneSpec", "QatSpec", "Recipe", "SensitivitySpec",
           "SweepSpec", "TrainSpec", "TransferSpec", "Variant", "apply_overrides", "derive",
           "fingerprint", "parse_override"]
