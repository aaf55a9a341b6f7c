"""Running a recipe, in parts:

- ``core``: the ``Pipeline`` of one run: checks before any work, then the run put together;
- ``runner``: the one cache-and-resume protocol every step goes through;
- ``steps``: the step kinds (train, distill, prune, cluster, qat, export, sensitivity,
  curve);
- ``plan``: which stages a variant goes through, in which order;
- ``artifacts``: how a step's Keras model is saved with its facts and read back;
- ``benchmark``: the interleaved timing of every file of the run;
- ``results``: one variant's result, as the report reads it;
- ``publish``: the deliverables copied into the run folder;
- ``provenance``: machine, versions, command, steps.
"""

from tfcompress.pipeline.core import Pipeline, RunResult
from tfcompress.pipeline.provenance import machine, versions
from tfcompress.pipeline.runner import Artifact, StepRecord

__all__ = ["Artifact", "Pipeline", "RunResult", "StepRecord", "machine", "versions"]
