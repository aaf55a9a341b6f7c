"""CIFAR-10 ResNets pruned and quantized, and the user's-own-model round trip.

Quick profiles train on a 10,000-image subset for 10 epochs with Adam (about 20 minutes on 2
CPU cores): they show the pipeline and the latency effects, not the published accuracy. The
full profile is He et al.'s schedule: SGD momentum 0.9, lr 0.1 divided by 10 at 50% and 75% of
182 epochs, weight decay 1e-4, batch 128, pad-4 crop + flip (published: ResNet-20 91.25%,
ResNet-56 93.03%; a few points lower on the JPEG copy of CIFAR-10 in ../shared/data).
"""

from __future__ import annotations

from dataclasses import replace

from .common import DENSE, sparsity_variants, speed_variant, tiny
from tfcompress.recipe import (DataSpec, ExportSpec, ModelSpec, PruneSpec, Recipe, TrainSpec,
                               Variant, derive)
from tfcompress.catalogue import register_experiment

#: Per-channel statistics of the CIFAR-10 training set (0..1 pixels).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.247, 0.2435, 0.2616)


FULL_SCHEDULE = {
    "data.train_limit": None, "data.test_limit": None,
    "train.epochs": 182, "train.optimizer": "sgd", "train.learning_rate": 0.1,
    "train.lr_schedule": "step", "train.weight_decay": 1e-4,
    "finetune.epochs": 40, "finetune.optimizer": "sgd", "finetune.learning_rate": 0.01,
    "finetune.lr_schedule": "step", "finetune.weight_decay": 1e-4,
    "variants.*.prune.frequency": 100,
}

RESNET56 = register_experiment(Recipe(
    name="resnet56_prune_quant",
    description="CIFAR-10 ResNet-56 (0.86 M params, 126 M MACs): gradual pruning to 50/70/90%, "
                "int8 TFLite, latency next to effective MACs.",
    data=DataSpec("cifar10", train_limit=10000, test_limit=2000, mean=CIFAR_MEAN,
                  std=CIFAR_STD, augment="crop_flip"),
    model=ModelSpec("resnet56"),
    train=TrainSpec(epochs=10, batch_size=128, optimizer="adam", learning_rate=2e-3,
                    lr_schedule="step"),
    finetune=TrainSpec(epochs=2, batch_size=128, optimizer="adam", learning_rate=2e-4),
    variants=sparsity_variants((0.5, 0.7, 0.9), float_at=0.7),
    profiles={
        "tiny": {**tiny(256, 64, {"depth": 8, "widths": [4, 8, 16]}),
                 "model.name": "resnet"},
        "full": FULL_SCHEDULE,
    },
))

RESNET20 = register_experiment(derive(
    RESNET56, "resnet20_prune_quant",
    "CIFAR-10 ResNet-20 (0.27 M params, 41 M MACs): gradual pruning to 50/70/90%, int8 TFLite.",
    # tiny (what make test runs): each kind of file once, the lowest and highest target;
    # resnet56_prune_quant's tiny run (the same model at tiny) keeps the whole ladder. Recipes
    # derived from this one start from RESNET56's tiny profile, not this one's variants.
    profiles={**RESNET56.profiles, "tiny": {"variants": (
        RESNET56.variant("float32"), RESNET56.variant("int8"),
        RESNET56.variant("pruned70_float32"), RESNET56.variant("pruned90_int8")),
        **RESNET56.profiles["tiny"]}},  # the variants first: the profile's wildcards apply
    **{"model.name": "resnet20"},
))

USER_MODEL = register_experiment(Recipe(
    name="user_model_prune_quant",
    description="Your Keras model (--model_path) on a dataset (--dataset, --mean/--std): "
                "evaluated as is, pruned to 50% with a short fine-tune, int8 TFLite.",
    data=DataSpec("cifar10", train_limit=10000),
    model=ModelSpec("file"),
    train=TrainSpec(epochs=0),
    finetune=TrainSpec(epochs=2, batch_size=128, optimizer="sgd", learning_rate=0.01),
    variants=(
        Variant("float32", ExportSpec("float32")),
        Variant("int8", ExportSpec("int8")),
        # mask updates fitted to the data and epochs given (about 16; a user's own data may be
        # far smaller or larger than CIFAR-10's)
        Variant("pruned50_float32", ExportSpec("float32"), PruneSpec(0.5, frequency="auto")),
        Variant("pruned50_int8", ExportSpec("int8"), PruneSpec(0.5, frequency="auto")),
    ),
    profiles={
        "tiny": {**tiny(256, 64, {}), "train.epochs": 0},
        "full": {"data.train_limit": None, "finetune.epochs": 10},
    },
))

#: A structured variant's own recovery (issue 28): 6 epochs of SGD, the learning rate falling
#: along a cosine; ``RECOVER_TODAY`` is the same budget as the suite had it (constant rate).
RECOVER = TrainSpec(epochs=6, batch_size=128, optimizer="sgd", learning_rate=0.01,
                    lr_schedule="cosine")
RECOVER_TODAY = TrainSpec(epochs=6, batch_size=128, optimizer="sgd", learning_rate=0.01)



USER_MODEL_FAST = register_experiment(derive(
    USER_MODEL, "user_model_fast",
    "Your Keras model (--model_path) made 1.5x faster (float32) by removing whole channels "
    "until the exported file is measured that much faster, then recovered: the ingredients "
    "one by one at equal speedup and equal budget (uniform L1 as before; + cosine rate and "
    "distillation; global ranking; per-group widths from sensitivity; iterative removal; "
    "widths in multiples of 8).",
    variants=(
        *DENSE,
        speed_variant("uniform_float32", "float32", 1.5, RECOVER_TODAY),
        speed_variant("uniform_cos_kd_float32", "float32", 1.5, RECOVER, recovery="distill"),
        speed_variant("global_cos_kd_float32", "float32", 1.5, RECOVER, recovery="distill",
                      scope="global"),
        speed_variant("uniform_cos_kd_by8_float32", "float32", 1.5, RECOVER, recovery="distill",
                      round_to=8),
        speed_variant("sens_cos_kd_by8_float32", "float32", 1.5, RECOVER, recovery="distill",
                      scope="sensitivity", round_to=8),
        speed_variant("sens_cos_kd_float32", "float32", 1.5, RECOVER, recovery="distill",
                      scope="sensitivity"),
        speed_variant("iter_sens_cos_kd_float32", "float32", 1.5, RECOVER, recovery="distill",
                      scope="sensitivity", rounds=2),
    ),
    profiles={
        # every ingredient once, on a 1.2x target (tests time the files with a stand-in),
        # the search in 2 bisection steps instead of 6
        "tiny": {**USER_MODEL.profiles["tiny"], "variants": (
            Variant("float32", ExportSpec("float32")),
            Variant("int8", ExportSpec("int8")),
            speed_variant("iter_sens_cos_kd_float32", "float32", 1.2,
                          replace(RECOVER, epochs=2),
                          recovery="distill", scope="sensitivity", rounds=2, search_steps=2),
            speed_variant("global_int8", "int8", 1.2,
                          replace(RECOVER, epochs=1),
                          scope="global", search_steps=2))},
        "full": {"data.train_limit": None, "variants.*.prune.finetune.epochs": 30},
    },
))
