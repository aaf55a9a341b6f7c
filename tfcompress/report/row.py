"""One variant's line of the comparison: a typed record (``report/table.py`` makes it, the
report, the plots and ``Result`` read its attributes). ``columns()`` flattens it into the
named columns of ``results.csv`` and of ``results.json``'s ``rows``, in a fixed order; a row
also reads as a mapping of those columns (``row["tflite_accuracy"]``), for notebooks and
scripts written against the CSV."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: the latency statistics kept per thread count, as ``<stat>_ms_<threads>t`` columns
STATS = ("mean", "std", "p50", "p90", "p95", "p99")


@dataclass(frozen=True)
class Timing:
    """Batch-1 latency (ms) at one thread count, and throughput there (images/s at the
    throughput batch)."""

    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    images_per_s: float


@dataclass(frozen=True)
class BatchRate:
    """Images/s at one batch size of the throughput sweep: mean and std over the rounds."""

    mean: float
    std: float


@dataclass(frozen=True)
class Row(Mapping):
    """One variant, flat: how it was made, its accuracy, size, MACs and speed, compared with
    the baseline and with its reference (the unpruned model exported the same way).

    Attributes:
      timing: per thread count, batch-1 latency and throughput.
      batches: per batch size, the throughput sweep (empty: none).
      peak_rss_kib: peak memory growth; ``memory_measured`` says whether it was measured.
      speed_vs_baseline: ``benchmark.verdict``'s call (faster / slower / same) at the first
        thread count; speed_ratio_low/high the per-round ratios.
      target_speedup, target_speedup_met: a speed target and whether the shipped file met it
        (None: no target).
    """

    variant: str
    export_mode: str
    pruning: str
    method: str
    compression: str
    seed: int
    group: str
    target_sparsity: float
    keras_accuracy: float | None
    accuracy_before_finetune: float | None
    tflite_accuracy: float
    test_errors: int
    accuracy_delta_pts: float
    params: int
    nonzero_params: int
    sparsity: float
    macs: int | None
    effective_macs: int | None
    tflite_bytes: int
    tflite_gzip_bytes: int
    gzip_x_smaller: float
    timing: dict[int, Timing]
    throughput_batch: int
    batches: dict[int, BatchRate]
    speedup_p50: float
    speed_vs_baseline: str
    speed_ratio_low: float
    speed_ratio_high: float
    file_weight_sparsity: float | None
    file_unique_per_channel_max: int | None
    fully_quantized: bool
    float_ops: str
    reference: str
    speedup_vs_reference: float
    speedup_vs_reference_low: float
    speedup_vs_reference_high: float
    notes: str
    peak_rss_kib: int | None = None
    memory_measured: bool = False
    target_speedup: float | None = None
    target_speedup_met: bool | None = None
    _columns: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    @property
    def threads(self) -> list[int]:
        """The thread counts timed, in the order they were."""
        return list(self.timing)

    def p50_ms(self, threads: int | None = None) -> float:
        """Batch-1 p50 latency at ``threads`` (default: the first thread count timed)."""
        return self.timing[self.threads[0] if threads is None else threads].p50_ms

    def columns(self) -> dict[str, Any]:
        """The flat columns of ``results.csv`` (and ``results.json``'s ``rows``)."""
        return dict(self._flat())

    def _flat(self) -> dict[str, Any]:
        """The columns, flattened once (the row is frozen)."""
        if not self._columns:
            self._columns.update(self._flatten())
        return self._columns

    def _flatten(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _HEAD}
        for t, lat in self.timing.items():
            for stat in STATS:
                out[f"{stat}_ms_{t}t"] = getattr(lat, f"{stat}_ms")
            out[f"images_per_s_{t}t"] = lat.images_per_s
        out["throughput_batch"] = self.throughput_batch
        for b, rate in self.batches.items():
            out[f"images_per_s_b{b}"], out[f"images_per_s_b{b}_std"] = rate.mean, rate.std
        if self.memory_measured:
            out["peak_rss_kib"] = self.peak_rss_kib
        out.update({name: getattr(self, name) for name in _TAIL})
        if self.target_speedup is not None:
            out["target_speedup"] = self.target_speedup
            out["target_speedup_met"] = self.target_speedup_met
        out["notes"] = self.notes
        return out

    # the columns as a read-only mapping
    def __getitem__(self, key: str) -> Any:
        return self._flat()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat())

    def __len__(self) -> int:
        return len(self._flat())


_HEAD = ("variant", "export_mode", "pruning", "method", "compression", "seed", "group",
         "target_sparsity", "keras_accuracy", "accuracy_before_finetune", "tflite_accuracy",
         "test_errors", "accuracy_delta_pts", "params", "nonzero_params", "sparsity", "macs",
         "effective_macs", "tflite_bytes", "tflite_gzip_bytes", "gzip_x_smaller")
_TAIL = ("speedup_p50", "speed_vs_baseline", "speed_ratio_low", "speed_ratio_high",
         "file_weight_sparsity", "file_unique_per_channel_max", "fully_quantized", "float_ops",
         "reference", "speedup_vs_reference", "speedup_vs_reference_low",
         "speedup_vs_reference_high")


@dataclass(frozen=True)
class SeedGroup:
    """Variants repeated over seeds (the same ``group``): TFLite accuracy and test errors as
    mean and standard deviation; Keras accuracy before fine-tuning where all have it."""

    group: str
    n: int
    seeds: list[int]
    compression: str
    export_mode: str
    sparsity: float
    accuracy_mean: float
    accuracy_std: float
    errors_mean: float
    errors_std: float
    before_mean: float | None = None
    before_std: float | None = None


@dataclass(frozen=True)
class LotteryRound:
    """One round of a group of lottery-ticket variants, over its seeds: weights remaining in
    the pruned layers, test accuracy (mean, std), and the early-stopping epoch and validation
    accuracy there (means; None: not measured)."""

    round: int
    remaining: float
    accuracy_mean: float | None
    accuracy_std: float | None
    n: int
    early_stop_epoch: float | None
    early_stop_val_accuracy: float | None
