"""What a pruning method is: one object that owns everything about it.

A method (``prune.method`` in a recipe) is a ``PruneMethod`` in its own module of
``tfcompress/prune/methods/``, registered by one line in ``tfcompress.prune.PRUNE_METHODS``. It
says which ``PruneSpec`` fields are its own (``owns``: set on another method's spec, they are
refused in one line by the spec's checks, ``recipe/variant.py``), which scopes it takes, its
traits, how it checks its own values (``validate``, when a recipe is made) and a model
(``preflight``, before any training), how its step is named and what its cache key adds, how
the report labels it, and how it runs (``run(job) -> Outcome``).

Method modules import nothing heavy at module level: recipes validate against them without
TensorFlow; what ``run`` and ``preflight`` need is imported when they run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec, Recipe


class PruneMethod:
    """One pruning method.

    Attributes:
      name: its ``prune.method`` name.
      owns: the ``PruneSpec`` fields only it (and the other methods owning them) reads.
      scopes: the ``prune.scope`` values it takes.
      tfmot: prunes with wrappers during fine-tuning (tfmot's on tf_keras,
        ``tfcompress.sparsity``'s on Keras 3), so it needs fine-tuning steps.
      structured: removes whole channels (its models are smaller and dense, not sparse).
      zeros: its models hold the zeros it made (unstructured sparsity).
      retrains: trains with the baseline's budget (``train``), not only fine-tunes.
      keras3: runs natively on a Keras 3 model (the others get its exact tf_keras twin).
    """

    name: str = ""
    owns: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ("layer", "global")
    tfmot: bool = False
    structured: bool = False
    zeros: bool = True
    retrains: bool = False
    keras3: bool = True

    def validate(self, spec: PruneSpec) -> None:
        """Checks the values of its own fields (``InputError``, one line)."""

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """Before any training: what it would refuse on ``model`` (a tf_keras model), e.g.
        layer names in ``skip`` the model does not have. Raises ``InputError``."""
        from tfcompress.prune import masks

        masks.prunable(model, spec.skip)

    def step_name(self, spec: PruneSpec) -> str:
        """Its cached step's name, e.g. ``oneshot70_global``."""
        return f"{self.name}{round(spec.target_sparsity * 100)}_{spec.scope}"

    def cache(self, spec: PruneSpec, recipe: Recipe) -> dict[str, Any]:
        """What its step's cache key depends on beyond the spec, the baseline and the
        fine-tuning."""
        return {"train": recipe.train} if self.retrains else {}

    def label(self, prune: PruneSpec) -> str:
        """The report's name of what it did, e.g. ``iterative global x4``."""
        label = self.name + (" global" if prune.scope == "global" else "")
        return label + (f" x{prune.rounds}" if prune.rounds > 1 else "")

    def run(self, job: Job) -> Outcome:
        """Prunes ``job``'s model (and fine-tunes or trains it)."""
        raise NotImplementedError


def speed_suffix(spec: PruneSpec) -> str:
    """The tail of a step name for a speed target, a rounding and a distilled recovery (the
    methods that own them: ``filters``, ``resolution``), e.g. ``_speedup2_by8_kd``."""
    tail = f"_speedup{spec.target_speedup:g}" if spec.target_speedup is not None else ""
    tail += f"_by{spec.round_to}" if spec.round_to > 1 else ""
    return tail + ("_kd" if spec.recovery == "distill" else "")
