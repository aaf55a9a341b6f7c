"""What the report is given for each variant: a typed record, made by the pipeline
(``pipeline/results.py``) and read by attribute, never by string keys (what each stage keeps of
its spec is that stage's summary, ``Stage.summary``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tfcompress.benchmark.latency import Latency

if TYPE_CHECKING:
    from tfcompress.recipe import ClusterSpec, DistillSpec, PruneSpec, QatSpec


@dataclass
class SourceFacts:
    """What the steps recorded of the Keras model a variant's file was converted from (None:
    not recorded for this kind of step)."""

    name: str | None = None
    key: str | None = None
    keras_test_accuracy: float | None = None
    params: int | None = None
    nonzero_params: int | None = None
    macs: int | None = None
    effective_macs: int | None = None
    keras_file_bytes: int | None = None
    keras_file_gzip_bytes: int | None = None
    layer_sparsity: dict[str, Any] | None = None
    model_file: str | None = None
    m_by_n_skipped: dict[str, str] | None = None
    m_by_n_violations: list[str] | None = None
    channels: dict[str, list[int]] | None = None
    structured_unsupported: list[dict[str, Any]] | None = None
    teacher_accuracy: float | None = None
    unique_values: dict[str, int] | None = None
    qat_float_layers: list[Any] | None = None
    accuracy_before_finetune: float | None = None
    rounds: list[dict[str, Any]] | None = None
    #: structured pruning: the speed target's search, the measured sensitivity of each
    #: channel group, the share of each group removed
    speed_target: dict[str, Any] | None = None
    sensitivity: dict[str, Any] | None = None
    ratios: dict[str, float] | None = None
    #: ``resolution``: the image side before and after ([224, 160])
    input_side: list[int] | None = None

    @classmethod
    def of(cls, meta: dict[str, Any]) -> SourceFacts:
        """The facts of a step's ``meta.json``."""
        return cls(**{f.name: meta.get(f.name) for f in dataclasses.fields(cls)})


@dataclass
class FileFacts:
    """What the export step measured of a variant's .tflite file."""

    key: str | None = None
    tflite_accuracy: float | None = None
    bytes: int | None = None
    gzip_bytes: int | None = None
    coverage: dict[str, Any] | None = None
    weights: list[dict[str, Any]] | None = None
    input: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def of(cls, meta: dict[str, Any]) -> FileFacts:
        return cls(**{f.name: meta.get(f.name) for f in dataclasses.fields(cls)})


@dataclass
class Memory:
    """A file's peak run-time memory (``benchmark.memory.peak_rss``): the resident-set growth
    of a fresh process loading and running it; ``peak_rss_kib`` None, with ``why``, where the
    platform cannot tell."""

    peak_rss_kib: int | None = None
    rss_before_kib: int | None = None
    threads: int | None = None
    why: str | None = None

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Memory:
        return cls(**{f.name: d.get(f.name) for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def timings(by_count: Mapping[str, Mapping[str, Any]]) -> dict[int, Latency]:
    """Cached timings keyed by thread count or batch size (strings, as JSON keeps them) as
    ``Latency`` records keyed by the number."""
    return {int(k): Latency.of(d) for k, d in by_count.items()}


@dataclass
class VariantResult:
    """One variant of a run.

    Attributes:
      variant, export_mode, seed, group: its name, TFLite mode, seed, and the configuration
        it repeats over seeds (its own name if none).
      test_examples: how many test examples its accuracy is over.
      stages: the spec of each stage it went through, by kind (``PruneSpec``,
        ``DistillSpec``, ...); ``prune`` etc. read one (None: not that one).
      stage_summaries: what ``results.json`` keeps of each (``Stage.summary``).
      stage_labels: how the report names each of them, in the order they ran.
      source: facts of the Keras model it was converted from (accuracy, parameters, non-zeros,
        MACs, file sizes, per-layer sparsity, channels kept, ...).
      tflite: facts of its .tflite file (accuracy, bytes, gzip bytes, op coverage, weights).
      latency, throughput: per thread count, the measured ``Latency`` (one image; a batch).
      batches: per batch size, the ``Latency`` of the throughput sweep.
      memory: peak run-time memory (``Memory``), when measured.
      tflite_path, keras_path: the files in the cache; tflite_file, keras_file: their copies
        in the run folder (relative), set when published.
    """

    variant: str
    export_mode: str
    seed: int
    group: str
    test_examples: int
    stages: dict[str, Any]
    stage_summaries: dict[str, dict[str, Any] | None]
    stage_labels: list[str]
    source: SourceFacts
    tflite: FileFacts
    latency: dict[int, Latency]
    throughput: dict[int, Latency]
    batches: dict[int, Latency] | None = None
    memory: Memory | None = None
    tflite_path: str = ""
    keras_path: str | None = None
    tflite_file: str | None = None
    keras_file: str | None = None

    @property
    def prune(self) -> PruneSpec | None:
        return self.stages.get("prune")

    @property
    def distill(self) -> DistillSpec | None:
        return self.stages.get("distill")

    @property
    def cluster(self) -> ClusterSpec | None:
        return self.stages.get("cluster")

    @property
    def qat(self) -> QatSpec | None:
        return self.stages.get("qat")

    @classmethod
    def measured(cls, measured: Mapping[str, Any]) -> dict[str, Any]:
        """The benchmark's plain data for a variant (``latency``, ``throughput`` per thread
        count, ``batches``, ``memory``) as this record's typed fields."""
        return {"latency": timings(measured["latency"]),
                "throughput": timings(measured["throughput"]),
                "batches": timings(measured["batches"]) if measured.get("batches") else None,
                "memory": Memory.of(measured["memory"]) if measured.get("memory") else None}

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as ``results.json`` keeps it: each stage under its kind, timings keyed
        by their count as strings."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "stages"}
        for name in ("source", "tflite"):
            out[name] = dataclasses.asdict(out[name])
        for name in ("latency", "throughput", "batches"):
            if out[name] is not None:
                out[name] = {str(k): lat.to_dict() for k, lat in out[name].items()}
        if out["memory"] is not None:
            out["memory"] = out["memory"].to_dict()
        summaries = out.pop("stage_summaries")
        return {**out, **summaries}
