"""CUDA check: every loss trains on the GPU through the runner, and a step makes at most one host sync.

    python -m benchmarks.cuda_check

Run it on a machine with an NVIDIA GPU (CI has none). It prints one line per case and exits non-zero
if any check fails.
"""

from __future__ import annotations

import math
import sys
import tempfile
import warnings

import torch

from gan_core.config import LOSSES, GANConfig
from gan_core.runner import Runner
from gan_core.trainer import Trainer

CASES = {
    "ring8-mlp": dict(dataset="ring8"),
    "digits-mlp": dict(dataset="digits"),
    "dcgan32": dict(dataset="digits", model="dcgan", image_size=32, width=32),
}


def count_syncs(trainer: Trainer, steps: int) -> tuple[float, float]:
    """Host syncs per full step in the runner's loop (each step's scalars read at the next step,
    `Trainer.step_async`), counted by CUDA's sync debug mode; and the share of those reads that found
    the copy not yet landed (the CPU then waited on its event: for the previous step only, while this
    step's kernels are queued)."""
    for _ in range(5):
        trainer.step()  # warm-up (first calls may allocate and sync)
    torch.cuda.synchronize()
    waited = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            pending = None
            for _ in range(steps):
                current = trainer.step_async()
                if pending is not None:
                    waited += not pending.ready()
                    pending.result()
                pending = current
            pending.result()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchronizing" in str(w.message) for w in caught) / steps
    return syncs, waited / max(steps - 1, 1)


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device here")
        return 1
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    failures = 0
    # The first counted window of a process sees one extra sync (a one-time CUDA initialisation inside
    # the sync-debug machinery, measured 1 in 50 steps); count one throwaway window first.
    count_syncs(Trainer(GANConfig(dataset="ring8", device="auto")), 10)
    with tempfile.TemporaryDirectory() as tmp:
        for case, overrides in CASES.items():
            for loss in LOSSES:
                cfg = GANConfig(**overrides, loss=loss, steps=60, d_steps=2, device="auto", sample_every=20)
                runner = Runner(cfg, tmp).start()
                runner.wait(300)
                latest = runner.store.latest() or {}
                finite = all(
                    math.isfinite(latest.get(k, math.nan)) for k in ("d_loss", "g_loss", "d_grad_norm")
                )
                syncs, waited = count_syncs(Trainer(cfg), 50)
                ok = runner.status == "finished" and runner.device == "cuda" and finite and syncs <= 1.0
                failures += not ok
                status = "ok  " if ok else "FAIL"
                d_loss = latest.get("d_loss", math.nan)
                print(
                    f"{status} {case:<11} {loss:<14} status={runner.status} device={runner.device} "
                    f"steps={runner.current_step} syncs/step={syncs:.2f} reads that waited={waited:.2f} "
                    f"d_loss={d_loss:.3f}" + (f" error={runner.error}" if runner.error else ""),
                    flush=True,
                )
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
