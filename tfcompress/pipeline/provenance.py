"""How a run's numbers were made: command, recipe, steps, machine, package versions, load."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext


def run_info(ctx: RunContext, data: Dataset, started: float, *, profile: str,
             overrides: list[str], load_average: dict[str, Any]) -> dict[str, Any]:
    """``run.json``: what was run, on what, and how long each step took."""
    return {
        "experiment": ctx.recipe.name,
        "description": ctx.recipe.description,
        "profile": profile,
        "warnings": list(ctx.warnings),
        "overrides": overrides,
        "recipe": ctx.recipe.to_dict(),
        "seed": ctx.recipe.seed,
        "data": data.summary(),
        "command": command(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "steps": [vars(s) for s in ctx.runner.records],
        "load_average": dict(load_average),
        "machine": machine(),
        "versions": versions(),
    }


def command() -> str:
    """The command that made the run, as one would type it again (``tfcompress --...``); a run
    from Python (a notebook, a script) says so."""
    prog = os.path.basename(sys.argv[0])
    if prog == "tfcompress" or sys.argv[0].endswith(os.path.join("tfcompress", "run.py")):
        return shlex.join(["tfcompress", *sys.argv[1:]])
    return f"{shlex.join([prog, *sys.argv[1:]])} (through the Python API)"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (a busy machine explains noisy latencies)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """The CPU the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("tfcompress", "tensorflow", "tf-keras", "tensorflow-model-optimization",
                "ai-edge-litert", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
