"""What a pruning method is: one object that owns everything about it.

A method (``prune.method`` in a recipe) is a ``PruneMethod`` in its own module of
``tfcompress/prune/methods/``, registered by one line in ``tfcompress.prune.PRUNE_METHODS``. It
says which ``PruneSpec`` fields are its own (``owns``: set on another method's spec, they are
refused in one line by the spec's checks, ``recipe/variant.py``), which scopes it takes, its
traits, how it checks the values of its own fields (``validate``, when a recipe is made:
``FIELD_CHECKS`` holds the checks of fields several methods own) and a model
(``preflight``, before any training), how its step is named and what its cache key adds, how
the report labels it, and how it runs (``run(job) -> Outcome``).

Method modules import nothing heavy at module level: recipes validate against them without
TensorFlow; what ``run`` and ``preflight`` need is imported when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tfcompress.errors import unknown_name
from tfcompress.recipe.baseline import TrainSpec
from tfcompress.recipe.checks import _number, _positive_int, _require

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec, Recipe

#: how a structurally pruned model recovers (``prune.recovery``)
RECOVERIES = ("finetune", "distill")


def _recovery(spec: PruneSpec) -> None:
    if spec.recovery not in RECOVERIES:
        raise unknown_name("prune.recovery", spec.recovery, RECOVERIES)


#: the checks of the fields several methods own: each owner runs those in its ``owns``
FIELD_CHECKS: dict[str, Callable[[PruneSpec], None]] = {
    "rounds": lambda s: _positive_int("prune.rounds", s.rounds),
    "target_speedup": lambda s: _require(
        s.target_speedup is None or (_number(s.target_speedup) and s.target_speedup > 1),
        "prune.target_speedup", "a number > 1 (times faster than the dense file)",
        s.target_speedup),
    "round_to": lambda s: _positive_int("prune.round_to", s.round_to),
    "search_steps": lambda s: _require(
        isinstance(s.search_steps, int) and not isinstance(s.search_steps, bool)
        and 1 <= s.search_steps <= 12, "prune.search_steps", "an integer in [1, 12]",
        s.search_steps),
    "recovery": _recovery,
    "finetune": lambda s: _require(
        s.finetune is None or isinstance(s.finetune, TrainSpec), "prune.finetune",
        "a fine-tuning spec (epochs, learning_rate, ...)", s.finetune),
}


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
        """Checks the values of its own fields (``InputError``, one line): those several
        methods own (``FIELD_CHECKS``) here; a method adds the checks of fields only it owns."""
        for name in self.owns:
            if name in FIELD_CHECKS:
                FIELD_CHECKS[name](spec)

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
