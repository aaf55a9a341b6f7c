"""Weight clustering (tfmot): each kernel keeps ``clusters`` distinct values."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress._keras import keras
import tfcompress.pipeline.artifacts as artifacts
from tfcompress.pipeline.stages.base import Stage
from tfcompress.prune import magnitude, masks
from tfcompress.quantize import cluster
from tfcompress.train import loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ClusterSpec, ModelSpec, Variant


class Cluster(Stage):
    kind = "cluster"

    def check(self, ctx: RunContext, data: Dataset, model: Any, variant: Variant,
              total_steps: int, memo: dict[Any, Any]) -> Any:
        """``cluster.skip`` names layers of the model."""
        masks.prunable(model, variant.cluster.skip)
        return model

    def run(self, ctx: RunContext, data: Dataset, parent: Artifact, variant: Variant,
            seed: int, model_spec: ModelSpec) -> Artifact:
        """Clusters the parent's kernels to ``spec.clusters`` values, fine-tunes, strips."""
        spec: ClusterSpec = variant.cluster
        train = spec.train or ctx.recipe.finetune
        name = f"{parent.meta['name']}_cluster{spec.clusters}"

        def produce(work: Path) -> dict[str, Any]:
            keras.utils.set_random_seed(seed)
            model = artifacts.load(parent, keras="2")  # tfmot's clustering
            clustered = cluster.apply(model, spec.clusters, spec.init,
                                      preserve_sparsity=spec.preserve_sparsity, skip=spec.skip)
            history = (loop.fit(clustered, data, train, work_dir=work, seed=seed)
                       if train.epochs else {})
            plain = cluster.strip(clustered)
            return artifacts.save_model(plain, work, data, history=history,
                                        unique_values=cluster.unique_values(plain),
                                        layer_sparsity=magnitude.layer_sparsity(plain))

        config = {"source": parent.meta["key"], "cluster": spec, "train": train, "seed": seed}
        return ctx.runner.run("cluster", name, config, produce, train.strategy)

    def summary(self, spec: ClusterSpec) -> dict[str, Any]:
        return {"clusters": spec.clusters, "preserve_sparsity": spec.preserve_sparsity}

    def label(self, spec: ClusterSpec) -> str:
        return f"{spec.clusters} clusters" + (" (sparsity kept)" if spec.preserve_sparsity
                                              else "")
