"""A recipe's sweep inside a pipeline run: trials, the chosen one, the summary the report draws.

A trial is the recipe with the trial's hyperparameters set (``apply_overrides``, validated
like any override), made by the pipeline's cached steps: the baseline is trained once and
reused, a trial's pruning resumes from its last epoch after an interruption, and a finished
trial is never made twice. keras-tuner keeps the search state in its project folder
(``<output_dir>/sweeps/<experiment>-<profile>-<hash>``); running the command again continues
the search where it stopped, and raising ``sweep.max_trials`` extends a finished one.

Distributed: start one chief and any number of workers with keras-tuner's variables
(``KERASTUNER_TUNER_ID`` = ``chief`` / ``tuner0`` / ..., ``KERASTUNER_ORACLE_IP``,
``KERASTUNER_ORACLE_PORT``) and the same command and ``--output_dir`` (a shared folder).
Workers run trials; the chief serves the oracle, then benchmarks the chosen trial beside the
references and writes the report.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress.errors import SweepFailed
from tfcompress.recipe import Variant, apply_overrides, fingerprint
from tfcompress.sweep import objective, tuner

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline import Artifact
    from tfcompress.recipe import Recipe

#: How a trial is made: (the trial's recipe, its variant) -> (source model, .tflite export),
#: by the run's own cached steps.
MakeTrial = Callable[["Recipe", Variant], "tuple[Artifact, Artifact]"]

log = logging.getLogger("tfcompress")


@dataclass(frozen=True)
class Made:
    """A trial's variant and its cached steps (its source model and its .tflite)."""

    variant: Variant
    source: Artifact
    export: Artifact


class Sweep:
    """A recipe's sweep. Trials are made by ``make_trial`` (the run's cached steps);
    ``warn`` puts a line at the top of the run's report."""

    def __init__(self, recipe: Recipe, data: Dataset, *, profile: str, output_dir: Path,
                 make_trial: MakeTrial, warn: Callable[[str], None]):
        self.recipe = recipe
        self.data = data
        self.profile = profile
        self.output_dir = Path(output_dir)
        self.make_trial = make_trial
        self.warn = warn
        self.spec = recipe.sweep
        self.role = tuner.role()
        self.summary: dict[str, Any] = {}

    @property
    def project_name(self) -> str:
        """Names the search by all that a trial's result depends on except ``max_trials``
        and ``max_failures`` (so raising them extends the same search)."""
        r = self.recipe
        key = fingerprint(dataclasses.replace(self.spec, max_trials=1, max_failures=1),
                          r.data, r.model, r.train, r.finetune, r.transfer, r.benchmark,
                          r.seed)
        return f"{r.name}-{self.profile}-{key}"

    @property
    def directory(self) -> Path:
        return self.output_dir / "sweeps"

    # ------------------------------------------------------------------ one trial

    def make(self, trial_id: str, changes: dict[str, Any]) -> Made:
        """The trial's variant, made by ``make_trial`` for the recipe with its changes."""
        recipe = apply_overrides(self.recipe, changes)
        v = dataclasses.replace(recipe.sweep.trial,
                                name=f"{recipe.sweep.trial.name}_t{trial_id}")
        recipe = dataclasses.replace(recipe, sweep=None,
                                     variants=(recipe.variant(recipe.baseline), v))
        source, export = self.make_trial(recipe, v)
        return Made(v, source, export)

    def evaluate(self, trial_id: str, changes: dict[str, Any]) -> dict[str, float]:
        """Makes the trial and measures it: .tflite accuracy on the validation split (what
        the tuner selects on) and the test set, gzip size, latency."""
        from tfcompress import litert
        from tfcompress.benchmark.latency import measure
        from tfcompress.quantize.serving import prepare_for

        made = self.make(trial_id, changes)
        content = (made.export.path / "model.tflite").read_bytes()
        prepare = prepare_for(made.export.meta, self.data) or (lambda x: x)
        # batch-1 latency at the threads the objective and the report use (the full
        # benchmark of the chosen trial runs later, beside the references)
        lat = measure(content, prepare(self.data.x_test[:1]), self.recipe.benchmark,
                      self.recipe.benchmark.threads[0])
        val = litert.accuracy(litert.LiteModel(content), self.data.x_val, self.data.y_val,
                              desc=f"validating trial {trial_id}", prepare=prepare)
        src = made.source.meta
        return {"val_accuracy": val, "accuracy": made.export.meta["tflite_accuracy"],
                "gzip_kib": made.export.meta["gzip_bytes"] / 1024, "p95_ms": lat.p95_ms,
                "p50_ms": lat.p50_ms, "sparsity": 1 - src["nonzero_params"] / src["params"]}

    # ------------------------------------------------------------------ the search

    def search(self) -> Made | None:
        """Runs (or resumes) the search. On a worker: its share of trials, then None. Else:
        the chosen trial's variant (None if none qualifies), with ``summary`` filled."""
        t = tuner.SweepTuner(self.spec, self.evaluate, self.directory, self.project_name)
        log.info("[sweep] %s tuner, project %s (%s)", self.spec.tuner, t.project_dir,
                 self.role)
        try:
            t.search()
        except RuntimeError as e:  # keras-tuner: too many consecutive failed trials
            raise SweepFailed(f"sweep stopped after {self.spec.max_failures} failed trials in "
                              f"a row ({tuner.one_line(e)}); trials are in {t.project_dir}"
                              ) from None
        if self.role == "worker":
            return None
        trials = self.trials(t)
        ok = [x for x in trials if x["status"] == "COMPLETED"]
        if not ok:
            raise SweepFailed(f"every trial of the sweep failed (first: "
                              f"{trials[0]['error'] if trials else 'none ran'}); trials are "
                              f"in {t.project_dir}")
        failed = [x for x in trials if x["status"] != "COMPLETED"]
        for x in failed:
            self.warn(f"sweep trial {x['trial_id']} failed: {x['error']}")
        eligible = [x for x in ok if x["meets_budget"]]
        chosen = max(eligible, key=lambda x: x["score"]) if eligible else None
        if chosen is None:
            self.warn("no trial of the sweep met the budget; nothing was chosen")
        for x in trials:
            x["chosen"] = x is chosen
        self.summary = {
            "project_dir": str(t.project_dir), "tuner": self.spec.tuner,
            "objective": self.spec.objective, "max_gzip_kib": self.spec.max_gzip_kib,
            "max_p95_ms": self.spec.max_p95_ms, "size_weight": self.spec.size_weight,
            "latency_weight": self.spec.latency_weight, "space": [p.path for p in
                                                                   self.spec.space],
            "threads": self.recipe.benchmark.threads[0], "trials": trials,
            "chosen": None if chosen is None else chosen["trial_id"],
            "front_size": objective.pareto(ok, "gzip_kib"),
            "front_latency": objective.pareto(ok, "p95_ms"),
        }
        if chosen is None:
            return None
        made = self.make(chosen["trial_id"], chosen["overrides"])  # cached steps
        self.summary["chosen_variant"] = made.variant.name
        return made

    def trials(self, t: tuner.SweepTuner) -> list[dict[str, Any]]:
        """Every trial the oracle knows, with its values, metrics, status and who ran it."""
        ran: dict[str, list[str]] = {}
        for r in tuner.runs(Path(t.project_dir)):
            ran.setdefault(r["trial_id"], []).append(r["tuner_id"])
        out = []
        # numerically: keras-tuner pads ids to the digits of max_trials ("7", then "08")
        for tid in sorted(t.oracle.trials, key=lambda i: (len(i.lstrip("0")), i.lstrip("0"))):
            trial = t.oracle.trials[tid]
            values = dict(trial.hyperparameters.values)
            row: dict[str, Any] = {
                "trial_id": tid, "status": trial.status,
                "overrides": tuner.overrides(self.spec, values),
                "ran_on": ran.get(tid, []),
                "error": "" if trial.status == "COMPLETED" else tuner.reason(trial.message)}
            for m in tuner.METRICS:
                if trial.metrics.exists(m):
                    row[m] = trial.metrics.get_last_value(m)
            if trial.status == "COMPLETED":
                row["meets_budget"] = objective.meets_budget(row, self.spec)
            out.append(row)
        return out
