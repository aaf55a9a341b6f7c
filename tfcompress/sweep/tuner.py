"""The keras-tuner side of a sweep: oracles by name, the search space, and a tuner whose
``run_trial`` runs our pipeline instead of fitting a Keras 3 model.

keras-tuner 1.4.8 imports Keras 3 and its stock ``Tuner`` refuses tf_keras models
(``FatalTypeError``; ``tfcompress.sweep.compat`` makes the stock path work for plain Keras
training). A sweep trial is more than a ``fit``: prune, fine-tune, convert, evaluate the
.tflite, benchmark. So ``SweepTuner`` subclasses ``BaseTuner`` and overrides ``run_trial``,
the route keras-tuner documents for any black-box objective.

keras-tuner catches a trial's exception, marks the trial failed and carries on, so a sweep
can "succeed" with every trial broken. Here a failing trial is logged as a warning with its
one-line reason, recorded, and listed in the report; the search stops after
``sweep.max_failures`` failures in a row.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tfcompress._keras  # noqa: F401,I001 -- sets TF_USE_LEGACY_KERAS before keras-tuner loads TF
import keras_tuner as kt
from keras_tuner.src import errors as kt_errors

from tfcompress.progress import progress
from tfcompress.sweep import TUNERS, objective

if TYPE_CHECKING:
    from tfcompress.recipe import Param, SweepSpec

log = logging.getLogger("tfcompress")

#: The metrics a trial reports (``score`` is the one keras-tuner maximises).
METRICS = ("score", "val_accuracy", "accuracy", "gzip_kib", "p95_ms", "p50_ms", "sparsity",
           "seconds")
#: Hyperband's budget hyperparameter, set as the trial's fine-tuning epochs.
EPOCHS = "tuner/epochs"


def role() -> str:
    """``local`` (one process), or keras-tuner's distributed ``chief`` (serves the oracle)
    or ``worker`` (runs trials), from ``KERASTUNER_*`` environment variables."""
    from keras_tuner.src.distribute import utils

    if not utils.has_chief_oracle():
        return "local"
    return "chief" if utils.is_chief_oracle() else "worker"


def make_oracle(spec: SweepSpec) -> kt.Oracle:
    """The keras-tuner oracle ``sweep.tuner`` names (``sweep.TUNERS``)."""
    # keras-tuner reads a seed of 0 as none and draws one at random (``seed or randint``):
    # shifted by one, every sweep.seed (the default 0 too) samples the same trials each run
    common = {"objective": kt.Objective("score", "max"), "seed": spec.seed + 1,
              "max_consecutive_failed_trials": spec.max_failures}
    return TUNERS.get(spec.tuner)(spec, **common)


def random_oracle(spec: SweepSpec, **common: Any) -> kt.Oracle:
    return kt.oracles.RandomSearchOracle(max_trials=spec.max_trials, **common)


def bayesian_oracle(spec: SweepSpec, **common: Any) -> kt.Oracle:
    return kt.oracles.BayesianOptimizationOracle(max_trials=spec.max_trials, **common)


def hyperband_oracle(spec: SweepSpec, **common: Any) -> kt.Oracle:
    return kt.oracles.HyperbandOracle(max_epochs=spec.hyperband_max_epochs,
                                      factor=spec.hyperband_factor, hyperband_iterations=1,
                                      **common)


def declare(hp: kt.HyperParameters, p: Param) -> Any:
    if p.kind == "choice":
        return hp.Choice(p.path, list(p.values))
    if p.kind == "int":
        return hp.Int(p.path, p.low, p.high, step=p.step, sampling=p.sampling)
    return hp.Float(p.path, p.low, p.high, step=p.step, sampling=p.sampling)


class Space(kt.HyperModel):
    """Declares the search space; builds nothing (the trial's pipeline does)."""

    def __init__(self, space: tuple[Param, ...]):
        super().__init__()
        self.space = space

    def build(self, hp: kt.HyperParameters) -> None:
        for p in self.space:
            declare(hp, p)


def overrides(spec: SweepSpec, values: dict[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameter values as recipe overrides (Hyperband's epoch budget as
    ``finetune.epochs``; its other bookkeeping values dropped)."""
    out = {p.path: values[p.path] for p in spec.space if p.path in values}
    if EPOCHS in values:
        out["finetune.epochs"] = int(values[EPOCHS])
    return out


class SweepTuner(kt.engine.base_tuner.BaseTuner):
    """Runs each trial through ``evaluate(trial_id, overrides) -> metrics``.

    Every attempt is appended to ``<project>/runs/<tuner id>.jsonl`` (which process ran which
    trial, with what result): keras-tuner's own trial files do not say who ran them.
    """

    def __init__(self, spec: SweepSpec, evaluate: Callable[[str, dict[str, Any]], dict],
                 directory: Path, project_name: str):
        self.spec = spec
        self.evaluate = evaluate
        super().__init__(oracle=make_oracle(spec), hypermodel=Space(spec.space),
                         directory=str(directory), project_name=project_name)
        self._bar: Any = None

    @property
    def runs_file(self) -> Path:
        return Path(self.project_dir) / "runs" / f"{self.tuner_id}.jsonl"

    def on_search_begin(self) -> None:
        total = self.spec.max_trials if self.spec.tuner != "hyperband" else None
        self._bar = progress(None, desc="sweep trials", total=total, unit="trial")

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        if self._bar is not None:
            self._bar.update(1)

    def on_search_end(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> dict:
        changes = overrides(self.spec, dict(trial.hyperparameters.values))
        log.info("[sweep] trial %s (%s): %s", trial.trial_id, self.tuner_id,
                 ", ".join(f"{k}={v}" for k, v in changes.items()))
        t0 = time.perf_counter()
        try:
            metrics = dict(self.evaluate(trial.trial_id, changes))
        except Exception as e:  # noqa: BLE001 -- reported, then handed to keras-tuner
            reason = one_line(e)
            log.warning("[sweep] trial %s FAILED: %s", trial.trial_id, reason)
            self._record(trial.trial_id, "FAILED", changes, error=reason,
                         traceback=traceback.format_exc())
            raise kt_errors.FailedTrialError(reason) from e  # no retry: it would fail again
        metrics["seconds"] = time.perf_counter() - t0
        metrics["score"] = objective.score(metrics, self.spec)
        log.info("[sweep] trial %s: val acc %.4f, test acc %.4f, gzip %.1f KiB, p95 %.3f ms, "
                 "score %.4f", trial.trial_id, metrics["val_accuracy"], metrics["accuracy"],
                 metrics["gzip_kib"], metrics["p95_ms"], metrics["score"])
        self._record(trial.trial_id, "COMPLETED", changes, metrics=metrics)
        return {k: float(metrics[k]) for k in METRICS if k in metrics}

    def _record(self, trial_id: str, status: str, changes: dict[str, Any], **facts: Any) -> None:
        self.runs_file.parent.mkdir(parents=True, exist_ok=True)
        line = {"trial_id": trial_id, "tuner_id": self.tuner_id, "pid": os.getpid(),
                "status": status, "overrides": changes, **facts}
        with open(self.runs_file, "a") as f:  # one writer per file: this tuner
            f.write(json.dumps(line) + "\n")


def one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text.splitlines()[0] if text else type(e).__name__


def runs(project_dir: Path) -> list[dict[str, Any]]:
    """Every trial attempt recorded by every tuner of the project, in file order."""
    out = []
    for f in sorted((Path(project_dir) / "runs").glob("*.jsonl")):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def reason(message: str | None) -> str:
    """The one-line reason from a failed trial's keras-tuner message (a traceback)."""
    lines = [ln.strip() for ln in (message or "").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last.split("FailedTrialError: ", 1)[-1]
