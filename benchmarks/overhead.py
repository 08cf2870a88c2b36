"""Runner overhead: steps/s of the full runner against a bare PyTorch loop, interleaved in one process.

The runner trains with everything it does for the dashboard at default settings: all metrics of every
step, the in-memory store, metrics.csv, fixed-noise snapshots, quality evaluations and checkpoints (the
first evaluation, which does what a process does once, before the timed rounds). The bare loop is the
textbook GAN loop with the same models, loss, data tensor and batch size, and nothing else. Rounds of
each alternate so that machine noise hits both alike; the ratio is the figure to read.

    python -m benchmarks.overhead [--rounds 5] [--scenarios ring8-mlp,digits-mlp,dcgan32] [--device cpu]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.models import build_models
from gan_core.runner import Runner
from gan_core.trainer import resolve_device

SCENARIOS = {
    # name: (config overrides, steps per round on the CPU)
    "ring8-mlp": (dict(dataset="ring8", model="mlp"), 250),
    "digits-mlp": (dict(dataset="digits", model="mlp"), 250),
    "dcgan32": (dict(dataset="digits", model="dcgan", image_size=32, width=32), 12),
}


class BareLoop:
    """The textbook loop (non-saturating loss, one D update per G update), nothing measured."""

    def __init__(self, cfg: GANConfig, device: torch.device):
        self.cfg = cfg
        self.data = load_data(cfg, device)
        torch.manual_seed(cfg.seed)
        G, D = build_models(cfg, self.data.sample_shape)
        self.G, self.D = G.to(device), D.to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.rng = torch.Generator(device=device).manual_seed(cfg.seed)
        self.device = device

    def run(self, steps: int) -> None:
        batch, latent = self.cfg.batch_size, self.cfg.latent_dim
        for _ in range(steps):
            real = self.data.sample(batch, self.rng)
            z = torch.randn(batch, latent, device=self.device, generator=self.rng)
            fake = self.G(z)
            d_loss = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake.detach())).mean()
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()
            g_loss = F.softplus(-self.D(fake)).mean()
            self.opt_g.zero_grad()
            g_loss.backward()
            self.opt_g.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def measure(name: str, rounds: int, device_name: str, steps_scale: float) -> dict:
    overrides, steps = SCENARIOS[name]
    steps = max(1, int(steps * steps_scale))
    cfg = GANConfig(**overrides, loss="nonsaturating", steps=0, device=device_name)
    device = resolve_device(device_name)
    bare = BareLoop(cfg, device)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(cfg, tmp, data=load_data(cfg, device)).start(paused=True)
        bare.run(steps)  # warm-up both
        # The runner's warm-up reaches its first quality evaluation, so that what a process does once
        # (the digit classifier's training, lazy imports) is not charged to one timed round; the later
        # evaluations and checkpoints fall in the rounds as often as in any run.
        warm = max(steps, cfg.eval_every)
        t0 = time.perf_counter()
        runner.run_to(warm)
        runner.wait_until(lambda r: r.status == "paused" and r.current_step >= warm, timeout=600)
        warm_s = time.perf_counter() - t0
        t_bare = t_runner = 0.0
        round_ratios = []
        for i in range(rounds):
            # alternate which goes first, so a slow phase of the machine does not always hit the same one
            order = ("bare", "runner") if i % 2 == 0 else ("runner", "bare")
            times = {}
            for which in order:
                t0 = time.perf_counter()
                if which == "bare":
                    bare.run(steps)
                else:
                    target = runner.current_step + steps
                    runner.run_to(target)
                    runner.wait_until(lambda r, t=target: r.status == "paused" and r.current_step >= t, 600)
                times[which] = time.perf_counter() - t0
            t_bare += times["bare"]
            t_runner += times["runner"]
            round_ratios.append(times["bare"] / times["runner"])
        runner.stop()
        runner.wait()
    total = steps * rounds
    return {
        "scenario": name,
        "device": str(device),
        "bare_steps_s": total / t_bare,
        "runner_steps_s": total / t_runner,
        "ratio": t_bare / t_runner,
        "median_round_ratio": statistics.median(round_ratios),
        "warm_steps": warm,
        "warm_s": warm_s,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=8,
        help="interleaved rounds of runner and bare loop (default: %(default)s)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, of: " + ", ".join(SCENARIOS) + " (default: %(default)s)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: %(default)s)")
    parser.add_argument(
        "--steps-scale", type=float, default=1.0, help="multiply steps per round (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, rounds {args.rounds}")
    header = ("scenario", "device", "bare steps/s", "runner steps/s", "ratio", "median")
    print("{:<12} {:<7} {:>12} {:>14} {:>6} {:>7}".format(*header))
    ratios = []
    for name in args.scenarios.split(","):
        r = measure(name.strip(), args.rounds, args.device, args.steps_scale)
        ratios.append(r["ratio"])
        print(
            f"{r['scenario']:<12} {r['device']:<7} {r['bare_steps_s']:>12.1f} {r['runner_steps_s']:>14.1f} "
            f"{r['ratio']:>6.3f} {r['median_round_ratio']:>7.3f}   (runner's warm-up: "
            f"{r['warm_steps']} steps in {r['warm_s']:.1f} s, its first evaluation included)",
            flush=True,
        )
    print(f"geometric mean ratio {math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}")


if __name__ == "__main__":
    main()
