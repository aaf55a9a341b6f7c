"""Accuracy and CPU time over pruning ratios without retraining (``CurveSpec``).

The trained model's kernels are pruned one-shot to each ratio (by magnitude, or the same
number of weights at random: the control at equal sparsity), the test accuracy measured, and
the kernels restored. Then the Keras forward pass is timed at every ratio in interleaved
rounds (each round visits every ratio, alternating the order), so a change in the machine's
load lands on all ratios alike; the spread between rounds is the timing's noise.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.prune import masks as masks_lib
from tfcompress.prune.criteria import select
from tfcompress.progress import progress
from tfcompress.train.loop import accuracy

if TYPE_CHECKING:
    from tfcompress.recipe import CurveSpec


def scores(kernels: dict[str, np.ndarray], criterion: str, seed: int) -> dict[str, np.ndarray]:
    """Per-weight scores: |w|, or uniform random numbers (seeded) for ``random``."""
    if criterion == "magnitude":
        return {n: np.abs(k) for n, k in kernels.items()}
    rng = np.random.default_rng(seed)
    return {n: rng.random(k.shape) for n, k in kernels.items()}


def analyse(model: Any, x: np.ndarray, y: np.ndarray, spec: CurveSpec, seed: int,
            desc: str = "curve") -> dict[str, Any]:
    """Per criterion, at each ratio: test accuracy, the sparsity reached over the pruned
    kernels, and (``timing_batch`` > 0) the forward-pass time's mean and std over rounds."""
    layers = masks_lib.prunable(model, spec.skip)
    originals = {l.name: np.array(masks_lib.kernel(l)) for l in layers}
    masks = {(c, r): select(scores(originals, c, seed), r, spec.scope)
             for c in spec.criteria for r in spec.ratios}

    def assign(mask: dict[str, np.ndarray] | None) -> None:
        for l in layers:
            w = originals[l.name]
            masks_lib.kernel(l).assign(w if mask is None else w * mask[l.name])

    out: dict[str, Any] = {"ratios": list(spec.ratios), "scope": spec.scope,
                           "weights": int(sum(w.size for w in originals.values())),
                           "criteria": {}}
    for (c, r) in progress(list(masks), desc=desc, unit="eval"):
        assign(masks[(c, r)])
        entry = out["criteria"].setdefault(c, {"accuracy": [], "sparsity": []})
        entry["accuracy"].append(accuracy(model, x, y))
        m = masks[(c, r)]
        entry["sparsity"].append(1 - sum(int(v.sum()) for v in m.values()) / out["weights"])
    if spec.timing_batch:
        batch = np.resize(x, (spec.timing_batch, *x.shape[1:]))
        model.predict_on_batch(batch)  # traced once, outside the timing
        order = list(masks)
        rounds: dict[tuple[str, float], list[float]] = {k: [] for k in order}
        for i in range(spec.timing_rounds):
            for key in (order if i % 2 == 0 else order[::-1]):
                assign(masks[key])
                runs = []
                for _ in range(spec.timing_runs):
                    t0 = time.perf_counter()
                    model.predict_on_batch(batch)
                    runs.append(time.perf_counter() - t0)
                rounds[key].append(1e3 * float(np.median(runs)))
        for c in spec.criteria:
            times = [rounds[(c, r)] for r in spec.ratios]
            out["criteria"][c]["ms_rounds"] = times
        out["timing"] = {"batch": spec.timing_batch, "rounds": spec.timing_rounds,
                         "runs": spec.timing_runs}
    assign(None)
    return out


def _mean_std(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def aggregate(curves: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Curves of one group (e.g. the seeds of one learning rate) together, per criterion and
    ratio: accuracy mean and std over the models, and of each model's change from its own
    unpruned accuracy (ratio 0, if measured); forward time mean and std over every round
    of every model; and the time relative to the unpruned model's in the same round (ratio 0,
    if measured), which cancels the load of that moment (geometric mean, and the std of the
    ratios)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for c in curves:
        for crit, e in c["criteria"].items():
            out.setdefault(c["group"], {}).setdefault(crit, {"models": []})["models"].append(
                (c["seed"], e))
    for by in out.values():
        for g in by.values():
            models = g.pop("models")
            entries = [e for _, e in models]
            g["seeds"] = [s for s, _ in models]
            g["ratios"] = curves[0]["ratios"]
            cols = list(zip(*[e["accuracy"] for e in entries]))
            g["accuracy_mean"], g["accuracy_std"] = map(list, zip(*map(_mean_std, cols)))
            if 0 in g["ratios"]:  # robustness: each model's loss against its own accuracy
                i0 = g["ratios"].index(0)
                drops = [[e["accuracy"][i] - e["accuracy"][i0] for e in entries]
                         for i in range(len(g["ratios"]))]
                g["drop_mean"], g["drop_std"] = map(list, zip(*map(_mean_std, drops)))
            if all("ms_rounds" in e for e in entries):
                per_ratio = list(zip(*[e["ms_rounds"] for e in entries]))
                g["ms_mean"], g["ms_std"] = map(list, zip(
                    *[_mean_std([t for model in r for t in model]) for r in per_ratio]))
                if 0 in g["ratios"]:
                    i0 = g["ratios"].index(0)
                    rel = [[t / base for e in entries for t, base in
                            zip(e["ms_rounds"][i], e["ms_rounds"][i0])]
                           for i in range(len(g["ratios"]))]
                    # the geometric mean: a plain mean of ratios of noisy times leans
                    # above 1 (Jensen), which would read as "pruned is slower"
                    g["relative_mean"] = [float(np.exp(np.mean(np.log(r)))) for r in rel]
                    g["relative_std"] = [_mean_std(r)[1] for r in rel]
    return out
