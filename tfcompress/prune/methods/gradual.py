"""``gradual``: gradual magnitude pruning during fine-tuning (per layer): tfmot's on tf_keras,
``tfcompress.sparsity`` on Keras 3."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tfcompress.errors import InputError
from tfcompress.prune import schedule
from tfcompress.prune.method import PruneMethod

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec


class ScheduledMethod(PruneMethod):
    """A method that prunes with wrappers along the fine-tuning's steps (tfmot's, or
    ``tfcompress.sparsity``'s): per layer, and its schedule must reach its target."""

    scopes = ("layer",)
    tfmot = True

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """Layers tfmot cannot wrap are refused (or named, when it leaves them dense)."""
        from tfcompress.prune import magnitude

        found = magnitude.unsupported_layers(model)
        bad = [b for b in found if b["fatal"]]
        if bad:
            listed = "; ".join(f"{b['name']} ({b['type']}): {b['why']}" for b in bad)
            raise InputError(f"{len(bad)} layer(s) cannot be pruned by tfmot: {listed}. Use "
                             f"another prune.method or replace these layers")
        for b in found:
            logging.getLogger("tfcompress").warning("[prune] %s (%s) %s", b["name"],
                                                    b["type"], b["why"])
        super().preflight(model, spec, finetune_steps)


class Gradual(ScheduledMethod):
    name = "gradual"

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """... and its schedule reaches its target within the fine-tuning's steps."""
        super().preflight(model, spec, finetune_steps)
        schedule.plan(spec, finetune_steps)

    def step_name(self, spec: PruneSpec) -> str:
        return f"pruned{round(spec.target_sparsity * 100)}_{spec.schedule}"

    def label(self, prune: PruneSpec) -> str:
        return prune.schedule  # tfmot's gradual pruning is named by its schedule

    def run(self, job: Job) -> Outcome:
        return gradual(job)


def gradual(job: Job) -> Outcome:
    from tfcompress.prune import masks as masks_lib
    from tfcompress.prune.methods.base import Outcome, schedule_prune

    model = job.trained()
    only = {l.name for l in masks_lib.prunable(model, job.spec.skip)}
    return Outcome(*schedule_prune(job, model, job.spec, only))


METHOD = Gradual()
