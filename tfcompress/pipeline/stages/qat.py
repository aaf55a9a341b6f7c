"""Quantization-aware training (tfmot): fake-quantized fine-tuning before the int8 export."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress._keras import keras
import tfcompress.pipeline.artifacts as artifacts
from tfcompress.pipeline.stages.base import Stage
from tfcompress.quantize import qat
from tfcompress.train import loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ModelSpec, QatSpec, Variant


class Qat(Stage):
    kind = "qat"

    def check(self, ctx: RunContext, data: Dataset, model: Any, variant: Variant,
              total_steps: int, memo: dict[Any, Any]) -> Any:
        """Layers tfmot cannot quantize (and not skipped on purpose) are named in the report."""
        for u in qat.check(model, variant.qat.skip):
            if u["why"] != "qat.skip":
                ctx.warn(f"variant {variant.name}: layer {u['name']} ({u['type']}) "
                         f"stays in float: {u['why']}")
        return model

    def run(self, ctx: RunContext, data: Dataset, parent: Artifact, variant: Variant,
            seed: int, model_spec: ModelSpec) -> Artifact:
        """Quantization-aware fine-tuning of the parent (tfmot), saved with its fake-quant
        ranges for the int8 export."""
        spec: QatSpec = variant.qat
        train = spec.train or ctx.recipe.finetune
        name = f"{parent.meta['name']}_qat_{spec.scheme}"

        def produce(work: Path) -> dict[str, Any]:
            keras.utils.set_random_seed(seed)
            model = artifacts.load(parent, keras="2")  # tfmot's QAT
            quantized, left = qat.apply(model, spec.scheme, spec.skip)
            history = (loop.fit(quantized, data, train, work_dir=work, seed=seed)
                       if train.epochs else {})
            shutil.copyfile(parent.path / "model.keras", work / "float_model.keras")
            return artifacts.save_model(quantized, work, data, counted=model, history=history,
                                        qat_float_layers=left, qat_scheme=spec.scheme,
                                        qat_skip=list(spec.skip))

        config = {"source": parent.meta["key"], "qat": spec, "train": train, "seed": seed}
        return ctx.runner.run("qat", name, config, produce, train.strategy)

    def summary(self, spec: QatSpec) -> dict[str, Any]:
        return {"scheme": spec.scheme}

    def label(self, spec: QatSpec) -> str:
        return f"QAT {spec.scheme}"
