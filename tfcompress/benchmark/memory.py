"""Peak run-time memory of a .tflite file: how much a fresh process's resident set grows while
the LiteRT interpreter loads the file, allocates its tensors (the arena) and runs it.

Measured in a child process of its own (``python -m tfcompress.benchmark.memory FILE``), so
nothing else held by this process (TensorFlow, other interpreters) counts: the child reads
the file, resets its peak-RSS mark (``/proc/self/clear_refs``, Linux), notes its resident set,
then builds the interpreter (XNNPACK, as the latency harness runs it), sets a zero input and
invokes it three times at batch 1. The figure is ``VmHWM - VmRSS before``: the interpreter's
arena, XNNPACK's packed weights and the runtime's own allocations - not the model bytes the
child had read already. The Python API exposes no arena size of its own, so this process RSS
delta is what is reported (it is what an app pays on top of the file it has mapped).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

#: seconds before a child taken for hung (no test relies on speed; only a guard)
HANG = 600


def _status(key: str) -> int:
    """A ``/proc/self/status`` value in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def measure_here(path: str | Path, threads: int = 1) -> dict[str, Any]:
    """The measurement itself (run it in a fresh process: ``peak_rss``)."""
    import numpy as np

    from tfcompress.litert import LiteModel

    content = Path(path).read_bytes()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError as e:
        return {"peak_rss_kib": None, "why": f"cannot reset the peak RSS mark: {e}"}
    before = _status("VmRSS")
    model = LiteModel(content, num_threads=threads)
    detail = model.input
    model.interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    for _ in range(3):
        model.interpreter.invoke()
    return {"peak_rss_kib": _status("VmHWM") - before, "rss_before_kib": before,
            "threads": threads}


def peak_rss(path: str | Path, threads: int = 1) -> dict[str, Any]:
    """``measure_here`` in a fresh child process; ``peak_rss_kib`` None (with ``why``) where
    the platform cannot tell."""
    if not Path("/proc/self/status").is_file():
        return {"peak_rss_kib": None, "why": "no /proc (not Linux)"}
    done = subprocess.run([sys.executable, "-m", "tfcompress.benchmark.memory", str(path),
                           str(threads)], capture_output=True, text=True, timeout=HANG)
    if done.returncode != 0:
        return {"peak_rss_kib": None,
                "why": (done.stderr.strip().splitlines() or ["child failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure_here(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)))
