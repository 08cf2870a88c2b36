"""CUDA check: every loss trains on the GPU through the runner, and a step makes at most one host sync;
the tracking API adds at most one sync a step to a user's loop and reads back exact values.

    python -m benchmarks.cuda_check

Run it on a machine with an NVIDIA GPU (CI has none). It prints one line per case and exits non-zero
if any check fails.
"""

from __future__ import annotations

import functools
import math
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

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


def _syncs_per_step(steps_of: Callable[[int], None], steps: int) -> float:
    """Host syncs per step while ``steps_of(steps)`` runs, counted by CUDA's sync debug mode."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            steps_of(steps)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchronizing" in str(w.message) for w in caught) / steps


def check_tracking(steps: int = 200, exact_steps: int = 60) -> int:
    """The tracking API (`gan_core.track`) on CUDA, in the loops `benchmarks.tracking` times (the digits
    MLP, examples/own_dcgan.py's DCGAN): host syncs per step of the tracked loop against the same loop
    bare, and every value read back through the batched, lagged transfer equal to the step's own tensors
    (d_loss, g_loss, D's accuracies, to 1e-6) once the run has finished. Returns the failures."""
    import pandas as pd

    from benchmarks import tracking as loops

    loops.DEVICE[0] = torch.device("cuda")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in loops.SCENARIOS:
            bare, tracked = loops.Loop(scenario), loops.Loop(scenario)
            run = tracked.track(f"check-{scenario}", tmp)
            loops.bare_steps(bare, 10)  # warm-up: first calls, the allocator
            loops.tracked_steps(tracked, run, 10)
            run.flush()
            bare_syncs = _syncs_per_step(functools.partial(loops.bare_steps, bare), steps)
            tracked_syncs = _syncs_per_step(functools.partial(loops.tracked_steps, tracked, run), steps)
            expected = []  # (step, d_loss, g_loss, d_acc_real, d_acc_fake) as the loop's own tensors
            for _ in range(exact_steps):
                fake, real_logits, fake_logits, _, _, d_loss = tracked.d_update()
                run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=tracked.D)
                g_loss = tracked.g_update(fake)
                run.g_step(g_loss, g_params=tracked.G)
                expected.append(
                    torch.stack(
                        [
                            torch.tensor(float(run.step), device=d_loss.device),
                            d_loss.detach(),
                            g_loss.detach(),
                            (real_logits > 0).float().mean(),
                            (fake_logits < 0).float().mean(),
                        ]
                    )
                )
            run.finish()
            want = pd.DataFrame(
                torch.stack(expected).cpu().double().numpy(),
                columns=["step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"],
            ).set_index("step")
            got = pd.read_csv(Path(tmp) / f"check-{scenario}" / "metrics.csv").set_index("step")
            got = got.loc[want.index, want.columns]
            worst = float((got - want).abs().max().max())
            ok = tracked_syncs <= bare_syncs + 1.0 and worst <= 1e-6 and len(got) == exact_steps
            failures += not ok
            print(
                f"{'ok  ' if ok else 'FAIL'} track {scenario:<11} syncs/step bare={bare_syncs:.2f} "
                f"tracked={tracked_syncs:.2f}; {len(got)} rows read back, largest difference from the "
                f"loop's own values {worst:.1e}",
                flush=True,
            )
    return failures


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device here")
        return 1
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    failures = check_tracking()
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
