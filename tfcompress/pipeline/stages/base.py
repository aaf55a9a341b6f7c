"""What a stage of a variant is: one object that owns everything the run needs of it.

A stage (distill, prune, cluster, qat, ...) is the ``Variant`` field that holds its spec
(``recipe/variant.py``: the field's ``stage`` metadata says which stages it follows), and a
``Stage`` here: the checks it makes before any work, the cached step that makes its model, what
the results keep of its spec and how the report labels it. ``plan``, ``preflight`` and
``results`` loop over the registered stages (``stages.STAGES``); none names one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfcompress.recipe import fingerprint

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ModelSpec, Variant


class Stage:
    """One stage of a variant.

    Attributes:
      kind: the ``Variant`` field holding its spec, and the kind of its cached step.
      teaches: its parent is the recipe-seed baseline whatever the variant's seed (a teacher:
        distillation repeats its student over seeds, not its teacher).
    """

    kind: str = ""
    teaches: bool = False

    def check(self, ctx: RunContext, data: Dataset, model: Any, variant: Variant,
              total_steps: int, memo: dict[Any, Any]) -> Any:
        """Checks before any work that ``variant``'s spec of this stage fits ``model`` (the
        tf_keras model the stage will receive; ``total_steps``: the fine-tuning's optimizer
        steps). Returns the model the following stages receive (``model``, or e.g. the
        student); ``memo`` keeps what the checks of a run share. Raises ``InputError``."""
        return model

    def run(self, ctx: RunContext, data: Dataset, parent: Artifact, variant: Variant,
            seed: int, model_spec: ModelSpec) -> Artifact:
        """The cached step that makes this stage's model from ``parent`` (whose model is built
        as ``model_spec`` says)."""
        raise NotImplementedError

    def identity(self, variant: Variant) -> Any:
        """What makes this stage's artifact of ``variant`` the same as another variant's (made
        once per run): its spec."""
        return fingerprint(getattr(variant, self.kind))

    def model_spec(self, spec: Any, parent: ModelSpec) -> ModelSpec:
        """The model the following stages work on (a distilled variant's: the student)."""
        return parent

    def summary(self, spec: Any) -> dict[str, Any]:
        """What ``results.json`` keeps of the spec."""
        raise NotImplementedError

    def label(self, spec: Any) -> str:
        """How the report names what the stage did, e.g. ``16 clusters``."""
        raise NotImplementedError
