"""Transfer learning on Cats vs Dogs: an ImageNet backbone with a new head, trained in two
phases (frozen backbone, then its top blocks at a low learning rate), pruned to a sweep of
sparsities and exported as int8 TFLite: the model a user copies to a phone.

The seed study's figures: MobileNet 12.48 MB at 95.56% -> 2.91 MB at 95.16% pruned and
quantized; VGG16/VGG19 accuracy and size against sparsity. ImageNet weights come from the data
dir (``mobilenet_7_5_224_tf_no_top.h5`` is in ../shared/data), Keras' cache, ``--weights=PATH``
or Keras' download; the tiny profiles use random weights and their reports say so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .common import DENSE, resolution_variant, sparsity_variants, speed_variant, tiny
from tfcompress.recipe import (BenchmarkSpec, DataSpec, ExportSpec, ModelSpec, PruneSpec, Recipe,
                               TrainSpec, TransferSpec, Variant, derive)
from tfcompress.catalogue import register_experiment

SPARSITIES = (0.5, 0.6, 0.7, 0.8, 0.9)
#: whole filters removed inside the backbone (the nested model is flattened): 30% and 50% of
#: every channel group, float32 and int8, beside the magnitude rows
FILTERS = tuple(Variant(f"filters{round(s * 100)}_{fmt}", ExportSpec(fmt),
                        PruneSpec(s, method="filters"))
                for s in (0.3, 0.5) for fmt in ("float32", "int8"))


def tiny_transfer(model_options: dict) -> dict:
    """32x32 images, random weights, a few dozen images: the pipeline in seconds."""
    return {
        **tiny(64, 32, {**model_options, "weights": None}),
        "data.image_size": [32, 32],
        "train.batch_size": 16, "finetune.batch_size": 16,
        "transfer.train.epochs": 1, "transfer.train.batch_size": 16,
        "variants": sparsity_variants((0.5, 0.9), float_at=None, frequency=2),
    }


MOBILENET = register_experiment(Recipe(
    name="mobilenet_prune_quant",
    description="Cats vs Dogs, MobileNet alpha 0.75 (ImageNet weights) at 224x224, two-phase "
                "transfer learning, pruned to 50-90% (weights) and 30/50% (filters), int8 "
                "TFLite.",
    data=DataSpec("cats_vs_dogs", image_size=(224, 224), augment="flip"),
    model=ModelSpec("transfer", {"backbone": "mobilenet", "alpha": 0.75,
                                 "weights": "imagenet", "dropout": 0.2}),
    train=TrainSpec(epochs=3, batch_size=32, optimizer="adam", learning_rate=1e-3),
    transfer=TransferSpec(
        train=TrainSpec(epochs=2, batch_size=32, optimizer="adam", learning_rate=1e-5),
        unfreeze_from="conv_dw_12"),
    finetune=TrainSpec(epochs=3, batch_size=32, optimizer="adam", learning_rate=1e-4),
    variants=sparsity_variants(SPARSITIES, float_at=0.5, frequency=10) + FILTERS,
    benchmark=BenchmarkSpec(min_runs=20),
    profiles={
        "tiny": tiny_transfer({"backbone": "mobilenet", "alpha": 0.25}),
        "full": {"train.epochs": 10, "transfer.train.epochs": 10, "finetune.epochs": 10,
                 "variants.*.prune.frequency": 50},
    },
))

def vgg(backbone: str, title: str, extra: str = "", **tiny_overrides: Any) -> Recipe:
    """The MobileNet recipe with a VGG backbone at 160x160 (224 in ``full``)."""
    return derive(
        MOBILENET, f"{backbone}_prune_quant",
        f"Cats vs Dogs, {title} (ImageNet weights) at 160x160, two-phase transfer learning, "
        f"pruned to 50-90%, int8 TFLite{extra}.",
        profiles={
            "tiny": {**tiny_transfer({"backbone": backbone}), **tiny_overrides},
            "full": {**MOBILENET.profiles["full"], "data.image_size": [224, 224]},
        },
        **{
            "data.image_size": [160, 160],
            "model.options": {"backbone": backbone, "weights": "imagenet", "dropout": 0.5},
            "transfer.unfreeze_from": "block5_conv1",
        },
    )


VGG16 = register_experiment(vgg("vgg16", "VGG16",
                                " (the seed study's accuracy/size vs sparsity figure)"))
#: VGG19's tiny run is VGG16's with three more convolutions: one pruned variant of the two
#: (each of its 80 MB files costs a minute of export, gzip and timing in the smoke test)
VGG19 = register_experiment(vgg("vgg19", "VGG19", variants=sparsity_variants(
    (0.5,), float_at=None, frequency=2)))

#: issue 28's recovery of a backbone that lost whole channels: Adam from 3e-4 down a cosine,
#: 6 epochs, on the labels and the unpruned model's soft targets. ``RECOVER_TODAY`` is the
#: recipe's own fine-tune (constant 1e-4) at the same 6 epochs, on the labels only.
RECOVER = TrainSpec(epochs=6, batch_size=32, optimizer="adam", learning_rate=3e-4,
                    lr_schedule="cosine")
RECOVER_TODAY = replace(MOBILENET.finetune, epochs=6)
#: a smaller image keeps every filter but changes the scale every layer sees: 4 epochs of
#: every layer (a pruned transfer backbone is fine-tuned whole; batch norms stay frozen) from
#: 3e-5 down a cosine (docs/results.md: 97.1% at 152x152, against 96.8% from 1e-5)
RECOVER_RESOLUTION = TrainSpec(epochs=4, batch_size=32, optimizer="adam", learning_rate=3e-5,
                               lr_schedule="cosine")

MOBILENET_FAST = register_experiment(derive(
    MOBILENET, "mobilenet_fast",
    "Cats vs Dogs, MobileNet alpha 0.75 (ImageNet weights): whole channels removed until the "
    "float32 file is measured 2x faster than dense float32 and the int8 file 1.6x faster than "
    "dense int8, widths per group from measured sensitivity in multiples of 8, recovered by "
    "distillation; beside it, today's uniform L1 at the same 2x and the same 6 epochs, and "
    "the same targets met by a smaller input image instead (every filter kept, 4 epochs).",
    variants=(
        *DENSE,
        speed_variant("uniform2x_float32", "float32", 2.0, RECOVER_TODAY),
        speed_variant("fast2x_float32", "float32", 2.0, RECOVER, recovery="distill",
                      scope="sensitivity", round_to=8),
        resolution_variant("res2x_float32", "float32", 2.0, RECOVER_RESOLUTION),
        resolution_variant("res1_6x_int8", "int8", 1.6, RECOVER_RESOLUTION),
        speed_variant("fast1_6x_int8", "int8", 1.6, RECOVER, recovery="distill",
                      scope="sensitivity", round_to=8),
    ),
    profiles={
        # the same arms at 1.2x on random weights (tests time the files with a stand-in)
        "tiny": {**tiny_transfer({"backbone": "mobilenet", "alpha": 0.25}), "variants": (
            Variant("float32", ExportSpec("float32")),
            speed_variant("fast_int8", "int8", 1.2, replace(RECOVER, epochs=1, batch_size=16),
                          recovery="distill", scope="sensitivity", round_to=8,
                          search_steps=2))},
        "full": {"train.epochs": 10, "transfer.train.epochs": 10,
                 "variants.*.prune.finetune.epochs": 20},
    },
))
