"""What the report is given for each variant: a typed record, made by the pipeline
(``pipeline/results.py``) and read by attribute, never by string keys (what each stage keeps of
its spec is that stage's summary, ``Stage.summary``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


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
class VariantResult:
    """One variant of a run.

    Attributes:
      variant, export_mode, seed, group: its name, TFLite mode, seed, and the configuration
        it repeats over seeds (its own name if none).
      test_examples: how many test examples its accuracy is over.
      stages: what each stage it went through keeps of its spec, by kind (``prune``,
        ``distill``, ...: ``Stage.summary``); ``prune`` etc. read one (None: not that one).
      stage_labels: how the report names each of them, in the order they ran.
      source: facts of the Keras model it was converted from (accuracy, parameters, non-zeros,
        MACs, file sizes, per-layer sparsity, channels kept, ...).
      tflite: facts of its .tflite file (accuracy, bytes, gzip bytes, op coverage, weights).
      latency, throughput: per thread count (as a string), the measured ``Latency`` dicts.
      batches: per batch size (as a string), the ``Latency`` of the throughput sweep.
      memory: peak run-time memory (``benchmark.memory.peak_rss``).
      tflite_path, keras_path: the files in the cache; tflite_file, keras_file: their copies
        in the run folder (relative), set when published.
    """

    variant: str
    export_mode: str
    seed: int
    group: str
    test_examples: int
    stages: dict[str, dict[str, Any]]
    stage_labels: list[str]
    source: SourceFacts
    tflite: FileFacts
    latency: dict[str, dict[str, Any]]
    throughput: dict[str, dict[str, Any]]
    batches: dict[str, dict[str, Any]] | None = None
    memory: dict[str, Any] | None = None
    tflite_path: str = ""
    keras_path: str | None = None
    tflite_file: str | None = None
    keras_file: str | None = None

    @property
    def prune(self) -> dict[str, Any] | None:
        return self.stages.get("prune")

    @property
    def distill(self) -> dict[str, Any] | None:
        return self.stages.get("distill")

    @property
    def cluster(self) -> dict[str, Any] | None:
        return self.stages.get("cluster")

    @property
    def qat(self) -> dict[str, Any] | None:
        return self.stages.get("qat")

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as ``results.json`` keeps it: each stage under its kind."""
        out = dataclasses.asdict(self)
        stages = out.pop("stages")
        return {**out, **stages}
