"""What a run trained with besides its settings: the library versions, the device and the CPU threads.

GAN training is chaotic: two runs of the same settings and seed give the same numbers only when these
agree too. Torch's CPU kernels split a reduction over its intra-op threads (the dashboard trains with half
the cores, a terminal's ``python -m gan_core train`` with torch's default of all of them), a CUDA GPU and
the CPU round differently, and versions change kernels; a difference in the last bit of one step's loss
grows into a different run within a few hundred steps. Every start of a run (a new run, a resume, a job's
restart) records what it trains with as an ``environment`` event (`gan_core.tracking.schema`), so that
the Runs page can show it and Compare can say when runs differ in it. The versions are read from
``sys``, ``platform``, ``torch`` and ``importlib.metadata``; nothing is sent anywhere.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
from collections.abc import Mapping
from typing import Any

import torch

# The fields of an ``environment`` event, in the order shown. Those that make the same settings and seed
# give other numbers (`REPRODUCIBILITY_FIELDS`), and the rest, which say where a run came from.
REPRODUCIBILITY_FIELDS = (
    "torch",
    "device",
    "cuda",
    "torch_threads",
    "deterministic",
    "matmul_precision",
    "cudnn_benchmark",
)
ENVIRONMENT_FIELDS = (*REPRODUCIBILITY_FIELDS, "python", "platform", "gan_dashboard")
PACKAGE = "gan-dashboard"


def environment(device: torch.device | str) -> dict[str, Any]:
    """What this process trains with on ``device``: ``torch`` (version), ``device`` (``cpu``, or the GPU's
    name: ``cuda:0 NVIDIA H100 80GB HBM3``), ``cuda`` (torch's CUDA version on a CUDA device, else None),
    ``torch_threads`` (`torch.get_num_threads`: the CPU threads of its kernels), ``deterministic``
    (`torch.are_deterministic_algorithms_enabled`), ``matmul_precision``
    (`torch.get_float32_matmul_precision`: ``highest``, or ``high`` / ``medium`` where a GPU may use TF32
    or bfloat16 for float32 products), ``cudnn_benchmark`` (`torch.backends.cudnn.benchmark`: cuDNN picks
    its algorithms by timing them), ``python`` (version), ``platform`` (system and machine: ``Linux
    x86_64``), ``gan_dashboard`` (this package's installed version; None when run from
    a source tree that was never installed). JSON values only."""
    device = torch.device(device)
    shown = device.type
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        shown = f"cuda:{index} {torch.cuda.get_device_name(index)}"
    return {
        "torch": torch.__version__,
        "device": shown,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}".strip(),
        "gan_dashboard": package_version(),
    }


def machine_cores() -> int:
    """The CPU cores this process may run on (`os.sched_getaffinity` where the system has it, else
    `os.cpu_count`): the cores a run's threads, data workers and the dashboard share."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@functools.cache
def package_version() -> str | None:
    """This package's installed version (`importlib.metadata`), None for a source tree never installed.
    Read once a process (it scans the installed packages' metadata: milliseconds)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


# How each field is named for people (the Runs page's table, Compare's note)
FIELD_LABELS = {
    "torch": "torch",
    "device": "device",
    "cuda": "CUDA",
    "torch_threads": "CPU threads (torch)",
    "deterministic": "deterministic algorithms",
    "matmul_precision": "float32 matmul precision",
    "cudnn_benchmark": "cuDNN benchmark",
    "python": "Python",
    "platform": "platform",
    "gan_dashboard": "gan-dashboard (installed)",
}


def shown_value(name: str, value: Any) -> str:
    """A field's value for people: on/off for a switch, "—" for none (``cuda`` off CUDA, ``gan_dashboard``
    run from a source tree), the rest as text."""
    if value is None:
        return {"cuda": "— (not on CUDA)", "gan_dashboard": "— (not installed)"}.get(name, "—")
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def environment_rows(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An ``environment`` event's fields as (label, value) rows for people, in `ENVIRONMENT_FIELDS`' order
    (fields of another version after them, as they are)."""
    names = [*(n for n in ENVIRONMENT_FIELDS if n in fields), *(n for n in fields if n not in FIELD_LABELS)]
    return [(FIELD_LABELS.get(name, name), shown_value(name, fields[name])) for name in names]


def environment_detail(fields: Mapping[str, Any]) -> str:
    """An ``environment`` event's line for people: ``torch 2.14.1 on cpu, 1 CPU thread, Python 3.11.7,
    Linux x86_64`` (and ``CUDA 13.0``, ``deterministic algorithms`` where they apply)."""
    parts = [f"torch {fields.get('torch', '?')} on {fields.get('device', '?')}"]
    if fields.get("cuda"):
        parts.append(f"CUDA {fields['cuda']}")
    threads = fields.get("torch_threads")
    if isinstance(threads, int) and not isinstance(threads, bool):
        parts.append(f"{threads} CPU thread{'s' if threads != 1 else ''}")
    if fields.get("deterministic") is True:
        parts.append("deterministic algorithms")
    if fields.get("matmul_precision") not in (None, "highest"):
        parts.append(f"float32 matmul precision {fields['matmul_precision']}")
    if fields.get("cudnn_benchmark") is True:
        parts.append("cuDNN benchmark")
    if fields.get("python"):
        parts.append(f"Python {fields['python']}")
    if fields.get("platform"):
        parts.append(str(fields["platform"]))
    return ", ".join(parts)


def differences(environments: Mapping[str, Mapping[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Of `REPRODUCIBILITY_FIELDS`, those in which the runs' ``environments`` (run id -> its newest
    ``environment`` event's fields, None for a run that recorded none: left out) differ: field -> {run
    id -> value}, in the fields' order. Empty when fewer than two runs recorded one, or all agree."""
    known = {run_id: env for run_id, env in environments.items() if isinstance(env, Mapping)}
    found: dict[str, dict[str, Any]] = {}
    for name in REPRODUCIBILITY_FIELDS:
        values = {run_id: env.get(name) for run_id, env in known.items()}
        # (a GPU's index is no difference: cuda:0 and cuda:1 of one model compute alike)
        compared = {_without_index(v) if name == "device" else repr(v) for v in values.values()}
        if len(compared) > 1:
            found[name] = values
    return found


def _without_index(device: Any) -> str:
    """``cuda:1 NVIDIA H100`` as ``cuda NVIDIA H100``: the device as far as the numbers go."""
    return re.sub(r"^(\w+):\d+\b", r"\1", str(device))
