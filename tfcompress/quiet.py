"""The command line's stderr without the runtime's start-up noise.

TensorFlow's C++ start-up on a machine without a GPU (``cudart_stub ... Could not find cuda
drivers``, ``cuInit ... UNKNOWN ERROR (303)``, ``oneDNN custom operations are on``, the CPU
feature guard's two lines, absl's ``All log messages before absl::InitializeLog()``), LiteRT's
``Created TensorFlow Lite XNNPACK delegate`` and the converter's ``fully_quantize: 0,
inference_type: 6, ...`` are written by C++ straight to file descriptor 2, past Python's
logging. ``filter_stderr`` puts a small filter process between
fd 2 and the terminal that drops exactly these lines (``NOISE``) and passes everything else
through unchanged and in order. The filter is its own process so that a crash of ours (a
segfault's report included) still reaches the terminal in full. ``TFCOMPRESS_RUNTIME_LOGS=1``
turns it off.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys

#: whole lines dropped from stderr (regular expressions, matched from the line's start)
NOISE = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"I0000 [\d:. ]+\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
    r"GPU will not be used\.$",
    r"E0000 [\d:. ]+\d+ cuda_(platform|executor|diagnostics)\.cc:\d+\] failed call to cuInit: "
    r".*(UNKNOWN ERROR \(303\)|CUDA_ERROR_NO_DEVICE).*$",
    r"I0000 [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*"
    r"TF_ENABLE_ONEDNN_OPTS=0`\.$",
    r"I0000 [\d:. ]+\d+ cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to "
    r"use available CPU instructions in performance-critical operations\.$",
    r"To enable the following instructions: [A-Z0-9_ ]+, in other operations, rebuild "
    r"TensorFlow with the appropriate compiler flags\.$",
    r"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$",
    r"fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, "
    r"output_inference_type: \w+$",
)

_FILTER = r"""
import re, sys
noise = re.compile("|".join("(?:%s)" % p for p in sys.argv[1:]))
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if not noise.match(line.decode("utf-8", "replace").rstrip("\r\n")):
        out.write(line)
        out.flush()
"""


def filter_stderr() -> None:
    """From now on, fd 2 (C++ and Python alike) goes through the filter. Does nothing when
    ``TFCOMPRESS_RUNTIME_LOGS`` is set, or when fd 2 cannot be redirected."""
    if os.environ.get("TFCOMPRESS_RUNTIME_LOGS"):
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read, write = os.pipe()
        proc = subprocess.Popen([sys.executable, "-S", "-u", "-c", _FILTER, *NOISE],
                                stdin=read, stdout=original, stderr=original,
                                close_fds=True, start_new_session=True)
        os.close(read)
        os.dup2(write, 2)
        os.close(write)
    except OSError:
        return

    def drain() -> None:  # at exit: let the filter write what is left, then end
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)  # the pipe's last writer closed: the filter reads EOF
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()

    atexit.register(drain)
