"""Prune -> quantize -> benchmark, the foundation study (tfmot's MNIST pruning guide, the
seed study's 12.52 MB -> 0.57 MB MNIST result)."""

from __future__ import annotations

from .common import prune_quant_variants, tiny
from tfcompress.recipe import DataSpec, ModelSpec, Recipe, TrainSpec, derive
from tfcompress.catalogue import register_experiment

DIGITS = register_experiment(Recipe(
    name="digits_prune_quant",
    description="8x8 digits CNN (bundled data, no download): 80% gradual pruning, "
                "dynamic-range and int8 TFLite, LiteRT benchmark. The `make demo` default.",
    data=DataSpec("digits"),
    model=ModelSpec("digits_cnn"),
    train=TrainSpec(epochs=30, batch_size=32, learning_rate=1e-3),
    finetune=TrainSpec(epochs=10, batch_size=32, learning_rate=5e-4),
    variants=prune_quant_variants(0.8, frequency=20),
    profiles={
        "tiny": tiny(300, 200, {"filters": [4, 8], "dense_units": 16}),
        "full": {"train.epochs": 60, "finetune.epochs": 20},
    },
))

MNIST = register_experiment(derive(
    DIGITS, "mnist_prune_quant",
    "MNIST CNN (2 conv + 2 dense, 3.3 M params): 80% gradual pruning, "
    "dynamic-range and int8 TFLite, LiteRT benchmark.",
    profiles={
        "tiny": tiny(600, 300, {"filters": [4, 8], "dense_units": 32}),
        "full": {"train.epochs": 12, "finetune.epochs": 6},
    },
    **{
        "data.name": "mnist",
        "model.name": "mnist_cnn",
        "train.epochs": 6, "train.batch_size": 128,
        "finetune.epochs": 3, "finetune.batch_size": 128, "finetune.learning_rate": 1e-3,
        "variants.*.prune.frequency": 100,
    },
))
