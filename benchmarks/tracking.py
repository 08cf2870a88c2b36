"""Tracking API vs TensorBoard: steps/s of a user's own GAN loop, bare, logged to TensorBoard and tracked.

One user-style training loop (BCE-with-logits, one D update per G update, the textbook ``g_loss.backward()``
through D) in up to six variants, each with its own copy of the same models (same seed), timed in the
same interleaved rounds (their orders a Williams design: every variant at every place, and right after every
other, equally often, within a round; the design's orders shuffled from round to round: `round_orders`) so
that machine noise and what a variant leaves behind hit all alike:

- ``bare``: the loop, nothing measured;
- ``bare-again``: the same loop again, over its own copy of the models: the A/A control. Its ratio to
  ``bare`` is what this machine's noise alone does to a ratio in that run (a few % on a shared 2-core
  machine), the resolution of every other ratio in the table;
- ``tensorboard``: the loop as users log it, a ``.item()`` and a ``SummaryWriter.add_scalar`` per scalar per
  step (d_loss, d_loss_real, d_loss_fake, g_loss, d_acc_real, d_acc_fake, d_real, d_fake, d_grad_norm,
  g_grad_norm) into a temporary log folder;
- ``track``: ``gan_core.track.init`` + ``run.d_step`` + ``run.g_step`` per step, as examples/own_dcgan.py
  writes them, into a temporary runs folder, no ``watch`` (no snapshots, no quality metrics);
- ``track+watch``: the same with ``run.watch(G, fixed_noise, D)`` at the default ``sample_every`` (100) and
  ``eval_every`` (500): a snapshot every 100 steps and the quality metrics (class coverage by the bundled
  digit classifier) every 500;
- ``runner``: the built-in `Runner` on the equivalent config (digits-mlp only; see benchmarks/overhead.py).
  It is not the same loop: it computes only G's weight gradients in G's update.

Scenarios: ``digits-mlp`` (the built-in default: the MLP G and D of `build_models` on the 8x8 digits,
batch 64) and ``own-dcgan`` (the small DCGAN of examples/own_dcgan.py on the same digits). Torch runs on
one thread in every variant (``OMP_NUM_THREADS=1``, unless set, before torch is imported).

``ratio`` = the variant's steps/s ÷ bare steps/s over all rounds (total time: track+watch's snapshots and
evaluations included, as many as fell in the timed steps, which the output notes); ``median`` = the median
of the per-round ratios (a round with an evaluation is the outlier it leaves out); ``CPU-time ratio`` = the
same from the process's CPU time, which a preempted process does not count.

    python -m benchmarks [--rounds 50] [--steps-scale 1] [--scenarios digits-mlp,own-dcgan] [--device cuda]
    python -m benchmarks.tracking ...                          # the same
    python -m benchmarks.tracking --profile [--profile-steps 800]   # where the tracked step's time goes
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported: every thread, the runner's too

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

import gan_core.track as track  # noqa: E402
from gan_core.config import GANConfig  # noqa: E402
from gan_core.data import load_data  # noqa: E402
from gan_core.models import build_models  # noqa: E402
from gan_core.tracking.track import DEFAULT_EVAL_EVERY, DEFAULT_SAMPLE_EVERY  # noqa: E402
from gan_core.trainer import resolve_device  # noqa: E402

BATCH = 64


def _own_dcgan(nz: int) -> tuple[nn.Module, nn.Module]:
    """G and D of examples/own_dcgan.py (8x8 digits; nz is the latent size), from the example itself."""
    path = Path(__file__).resolve().parents[1] / "examples" / "own_dcgan.py"
    spec = importlib.util.spec_from_file_location("own_dcgan_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)  # defines networks(); trains only when run as a script
    return example.networks(nz)


# name: (steps per round, whether the built-in runner has the equivalent config). Short rounds, many of
# them: on a shared machine the speed of a core changes by 2x over seconds (another tenant on its sibling
# hyperthread), and the finer the interleaving, the more alike each variant's share of slow phases.
# 50 rounds of 10 digits-mlp steps are 500 timed steps per variant: track+watch's one evaluation (every
# 500 steps) and five snapshots (every 100) in proportion; own-dcgan's 100 steps hold one snapshot.
SCENARIOS = {"digits-mlp": (10, True), "own-dcgan": (2, False)}
CFG = GANConfig(dataset="digits", model="mlp", loss="nonsaturating", steps=0)
DEVICE = [torch.device("cpu")]  # where every variant trains (--device)


class Loop:
    """One copy of a scenario's models, optimizers and data stream; every variant gets its own, built from
    the same seed, so each trains the same networks from the same start."""

    def __init__(self, scenario: str, seed: int = 0):
        device = DEVICE[0]
        self.data = load_data(CFG, device)
        torch.manual_seed(seed)
        if scenario == "digits-mlp":
            G, D = build_models(CFG, self.data.sample_shape)
            self.latent_shape: tuple[int, ...] = (CFG.latent_dim,)
        else:
            G, D = _own_dcgan(nz=32)
            self.latent_shape = (32, 1, 1)
        self.G, self.D = G.to(device), D.to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.rng = torch.Generator(device=device).manual_seed(seed)
        self.fixed_noise = torch.randn(64, *self.latent_shape, generator=self.rng, device=device)
        self.device = device
        self.bce = nn.BCEWithLogitsLoss()
        self.step = 0

    def track(self, run_id: str, root: str | Path, **options) -> track.TrackedRun:
        """A tracked run of this loop (`gan_core.track.init`) in ``root``: its real data, loss and
        optimizers; ``options`` go to init too."""
        return track.init(
            run_id,
            root=root,
            loss="nonsaturating",
            real=self.data.examples(),
            dataset="digits",
            opt_d=self.opt_d,
            opt_g=self.opt_g,
            **options,
        )

    def d_update(self):
        """D's update; returns what a loop logs of it: (fake, real_logits, fake_logits, loss_real,
        loss_fake, d_loss)."""
        real = self.data.sample(BATCH, self.rng)
        fake = self.G(torch.randn(BATCH, *self.latent_shape, generator=self.rng, device=self.device))
        real_logits, fake_logits = self.D(real), self.D(fake.detach())
        loss_real = self.bce(real_logits, torch.ones_like(real_logits))
        loss_fake = self.bce(fake_logits, torch.zeros_like(fake_logits))
        d_loss = loss_real + loss_fake
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        return fake, real_logits, fake_logits, loss_real, loss_fake, d_loss

    def g_update(self, fake: torch.Tensor) -> torch.Tensor:
        """G's update, the non-saturating loss, backward through D as the textbook loop does."""
        g_logits = self.D(fake)
        g_loss = self.bce(g_logits, torch.ones_like(g_logits))
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        return g_loss


def total_norm(module: nn.Module) -> torch.Tensor:
    return torch.nn.utils.get_total_norm([p.grad for p in module.parameters() if p.grad is not None])


# ---------------------------------------------------------------------- the variants: n steps each


def bare_steps(loop: Loop, n: int) -> None:
    for _ in range(n):
        fake = loop.d_update()[0]
        loop.g_update(fake)


def log_d_to_tensorboard(writer, step, d_loss, loss_real, loss_fake, real_logits, fake_logits, D) -> None:
    """D's eight scalars as users log them: each read with its own ``.item()`` (a host sync each)."""
    writer.add_scalar("d_loss", d_loss.item(), step)
    writer.add_scalar("d_loss_real", loss_real.item(), step)
    writer.add_scalar("d_loss_fake", loss_fake.item(), step)
    writer.add_scalar("d_acc_real", (real_logits > 0).float().mean().item(), step)
    writer.add_scalar("d_acc_fake", (fake_logits < 0).float().mean().item(), step)
    writer.add_scalar("d_real", torch.sigmoid(real_logits).mean().item(), step)
    writer.add_scalar("d_fake", torch.sigmoid(fake_logits).mean().item(), step)
    writer.add_scalar("d_grad_norm", total_norm(D).item(), step)  # before G's backward adds to D


def log_g_to_tensorboard(writer, step, g_loss, G) -> None:
    writer.add_scalar("g_loss", g_loss.item(), step)
    writer.add_scalar("g_grad_norm", total_norm(G).item(), step)


def tensorboard_steps(loop: Loop, writer, n: int) -> None:
    """The loop as users log it to TensorBoard: every scalar read with its own ``.item()``."""
    for _ in range(n):
        fake, real_logits, fake_logits, loss_real, loss_fake, d_loss = loop.d_update()
        step = loop.step
        log_d_to_tensorboard(writer, step, d_loss, loss_real, loss_fake, real_logits, fake_logits, loop.D)
        log_g_to_tensorboard(writer, step, loop.g_update(fake), loop.G)
    # What is queued for the writer's own thread is written before the round's time is taken, so that its
    # work is not counted against the variant timed next.
    writer.flush()


def tracked_steps(loop: Loop, run, n: int) -> None:
    """The loop as examples/own_dcgan.py tracks it."""
    for _ in range(n):
        fake, real_logits, fake_logits, _, _, d_loss = loop.d_update()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=loop.D)
        g_loss = loop.g_update(fake)
        run.g_step(g_loss, g_params=loop.G)


class RunnerSteps:
    """The built-in runner on the same config, driven as benchmarks/overhead.py drives it."""

    def __init__(self, root: str):
        from gan_core.runner import Runner

        cfg = CFG.replace(device=DEVICE[0].type)
        self.runner = Runner(cfg, root, data=load_data(cfg)).start(paused=True)

    def __call__(self, n: int) -> None:
        target = self.runner.current_step + n
        self.runner.run_to(target)
        self.runner.wait_until(lambda r: r.status == "paused" and r.current_step >= target, 600)

    def close(self) -> None:
        self.runner.stop()
        self.runner.wait()


def prime_watch(scenario: str, root: Path) -> None:
    """A throwaway watched run that snapshots and evaluates on its first steps, so that what happens once
    per process (the digit classifier's training, lazy imports) is not timed in track+watch's rounds."""
    loop = Loop(scenario)
    run = track.init(
        "prime", root=root, real=loop.data.examples(), dataset="digits", sample_every=1, eval_every=1
    )
    with run:
        run.watch(loop.G, loop.fixed_noise, D=loop.D)
        tracked_steps(loop, run, 2)


Steps = Callable[[int], None]


def variants(scenario: str, stack: ExitStack, tmp: Path, with_runner: bool) -> dict[str, Steps]:
    """name -> run(n steps), each over its own models; files go under ``tmp``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch raises this when the tensorboard package is missing
        raise SystemExit(
            f"this benchmark needs tensorboard: pip install -r requirements-dev.txt ({exc})"
        ) from None

    prime_watch(scenario, tmp / "prime")
    loops = {name: Loop(scenario) for name in ("bare", "bare-again", "tensorboard", "track", "track+watch")}
    writer = SummaryWriter(log_dir=str(tmp / "tensorboard"))
    stack.callback(writer.close)
    runs = {}
    for name in ("track", "track+watch"):
        loop = loops[name]
        runs[name] = track.init(  # at the defaults: sample_every 100, eval_every 500
            name.replace("+", "-"),
            root=tmp / "runs",
            loss="nonsaturating",
            config={"scenario": scenario, "batch_size": BATCH},
            real=loop.data.examples(),
            dataset="digits",
            model=scenario,
            opt_d=loop.opt_d,
            opt_g=loop.opt_g,
        )
        stack.callback(runs[name].finish)
    watched = loops["track+watch"]
    runs["track+watch"].watch(watched.G, watched.fixed_noise, D=watched.D)
    found: dict[str, Steps] = {
        "bare": lambda n: bare_steps(loops["bare"], n),
        "bare-again": lambda n: bare_steps(loops["bare-again"], n),  # the A/A control: bare vs itself
        "tensorboard": lambda n: tensorboard_steps(loops["tensorboard"], writer, n),
        "track": lambda n: tracked_steps(loops["track"], runs["track"], n),
        "track+watch": lambda n: tracked_steps(watched, runs["track+watch"], n),
    }
    if with_runner:
        runner = RunnerSteps(str(tmp / "runner"))
        stack.callback(runner.close)
        found["runner"] = runner
    return found


def _finish_device() -> None:
    """Wait for the kernels queued on the benchmark's device (CUDA runs them after the Python call
    returns; without this a variant's round would be charged for the one before it)."""
    if DEVICE[0].type == "cuda":
        torch.cuda.synchronize(DEVICE[0])


def williams_orders(n: int) -> list[list[int]]:
    """The orders of ``n`` variants in successive rounds, as a Williams design (E. J. Williams, "Experimental
    designs balanced for the estimation of residual effects of treatments", Aust. J. Sci. Res. 2, 1949): a
    Latin square (every variant once at every place) in which every variant comes right after every other
    the same number of times, so that what one leaves behind (warm or cold caches, the allocator's state)
    is shared out among all. A plain rotation (ABCDE, BCDEA, ... and backwards) gives each variant only two
    predecessors: bare then ran after the runner's heavy step half of its rounds and read 1-2 % slower than
    the same loop again (the A/A control), the bias that favoured every ratio to bare. ``n`` orders for an
    even ``n`` (and 1); for an odd one the square and its mirror, ``2n``. Each order lists indices 0..n-1."""
    if n < 1:
        raise ValueError(f"williams_orders needs at least one variant, got n={n}")
    first, low, high = [0], 1, n - 1  # 0, 1, n-1, 2, n-2, ...: the differences of neighbours all differ
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    orders = [[(k + shift) % n for k in first] for shift in range(n)]
    if n % 2 and n > 1:
        orders += [order[::-1] for order in orders]
    return orders


def round_orders(n: int, rounds: int, seed: int = 0) -> list[list[int]]:
    """The order of ``n`` variants in each of ``rounds`` rounds: `williams_orders`' orders, each as often
    as the others (``rounds`` a multiple of their number: `design_rounds`), in blocks of all of them, each
    block shuffled (``seed``). Within a round every variant follows every other equally often; between
    rounds (a round's first variant runs right after the last round's last) the shuffle varies which one
    follows which: in the orders' own sequence the last of order k and the first of order k+1 are a fixed
    pair, which made one variant always follow one other across rounds (a reviewer's count: bare after
    tensorboard 17 times in 50 rounds, after every other 8)."""
    orders = williams_orders(n)
    if rounds % len(orders):
        raise ValueError(f"rounds must be a multiple of {len(orders)} for {n} variants, got {rounds}")
    rng = random.Random(seed)
    sequence: list[list[int]] = []
    for _ in range(rounds // len(orders)):
        block = list(orders)
        rng.shuffle(block)
        sequence += block
    return sequence


def design_rounds(n: int, rounds: int) -> int:
    """``rounds`` rounded up to a multiple of the number of `williams_orders` of ``n`` variants."""
    size = len(williams_orders(n))
    return -(-max(rounds, 1) // size) * size


def measure(scenario: str, rounds: int, steps_scale: float) -> tuple[list[dict], str]:
    """The table's rows for ``scenario``, and a note of the snapshots and evaluations timed."""
    steps, has_runner = SCENARIOS[scenario]
    steps = max(1, round(steps * steps_scale))
    warm = 10
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        run_n = variants(scenario, stack, Path(tmp), has_runner)
        names = list(run_n)
        for name in names:  # warm-up: first calls, the allocator
            run_n[name](warm)
            _finish_device()
        # Python's first full garbage collection after torch, pandas and plotly are imported scans all of
        # their objects (~0.25 s here): whichever variant's allocations trigger it would pay for all of
        # them within the timed rounds. Collected once before timing, as timeit and pyperf do.
        gc.collect()
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, float] = dict.fromkeys(names, 0.0)
        rounds = design_rounds(len(names), rounds)  # (every order of the design as often)
        for order in round_orders(len(names), rounds):
            for name in (names[k] for k in order):
                c0, t0 = time.process_time(), time.perf_counter()
                run_n[name](steps)
                _finish_device()  # a round ends when its kernels have run, not when they are queued
                times[name].append(time.perf_counter() - t0)
                cpu[name] += time.process_time() - c0
    first, last = warm + 1, warm + rounds * steps
    note = (
        f"{scenario}: {rounds} rounds, timed steps {first}-{last} of each variant; track+watch took "
        f"{last // DEFAULT_SAMPLE_EVERY - warm // DEFAULT_SAMPLE_EVERY} snapshots and "
        f"{last // DEFAULT_EVAL_EVERY - warm // DEFAULT_EVAL_EVERY} evaluations in them"
    )
    rows = []
    bare = times["bare"]
    for name in names:
        t = times[name]
        rows.append(
            {
                "scenario": scenario,
                "variant": name,
                "steps_s": statistics.median(steps / x for x in t),
                "ratio": sum(bare) / sum(t),
                "median": statistics.median(b / x for b, x in zip(bare, t)),
                "cpu_ratio": cpu["bare"] / cpu[name],
            }
        )
    return rows, note


# ---------------------------------------------------------------------- where the tracked step's time goes


def _cpu_us(call: Callable[[], object], n: int) -> float:
    """CPU µs of this thread per call of ``call``, over ``n`` calls after a few unmeasured ones."""
    for _ in range(10):
        call()
    t0 = time.thread_time()
    for _ in range(n):
        call()
    return (time.thread_time() - t0) / n * 1e6


def profile(scenario: str, steps: int) -> None:
    """Where the tracked step's time goes, three ways, all in CPU time of the loop's thread
    (`time.thread_time`), which a busy machine's preemptions do not inflate as they do wall time:

    1. the bare and the tracked loop (no watch), interleaved (wall time too);
    2. the parts of the tracked path in that loop, timed by wrapping the functions in place;
    3. the logging calls alone, on one step's tensors, against the same logging for TensorBoard and
       against cheaper ways to the same numbers (min and median of 5 interleaved repetitions);

    then cProfile's top entries for the tracking calls alone (it inflates small Python functions, so read
    it for where, not how much)."""
    import cProfile
    import pstats

    from gan_core import flags
    from gan_core import rundir as rundir_mod
    from gan_core.losses import get_loss
    from gan_core.tracking import commands, sink
    from gan_core.tracking import measures as measures_mod
    from gan_core.tracking import track as track_mod
    from gan_core.tracking.measures import d_metrics, grad_norm

    spent: dict[str, list[float]] = {}
    undo: list[tuple[object, str, object]] = []

    def timed(owner, attr: str, label: str) -> None:
        inner = getattr(owner, attr)
        spent[label] = [0.0, 0]

        def wrapper(*args, **kwargs):
            t0 = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                cell = spent[label]
                cell[0] += time.thread_time() - t0
                cell[1] += 1

        setattr(owner, attr, wrapper)
        undo.append((owner, attr, inner))

    parts = [
        (track_mod.TrackedRun, "d_step", "TrackedRun.d_step (all)"),
        (measures_mod.GradNorms, "norms", "  GradNorms.norms (D's here, G's in g_step)"),
        (track_mod.TrackedRun, "g_step", "TrackedRun.g_step (all)"),
        (track_mod.TrackedRun, "_add_optimizer_hparams", "  TrackedRun._add_optimizer_hparams"),
        (track_mod.TrackedRun, "_send", "  TrackedRun._send (a batch's measures)"),
        (track_mod, "d_metrics_stacked", "    measures.d_metrics_stacked"),
        (track_mod.TrackedRun, "_commit_rows", "  TrackedRun._commit_rows (all)"),
        (flags.FlagMonitor, "update", "    FlagMonitor.update"),
        (sink.RunDirSink, "log_rows", "    RunDirSink.log_rows (all)"),
        (rundir_mod.RunDir, "append_records", "      RunDir.append_records"),
        (track_mod.TrackedRun, "_write_status", "    TrackedRun._write_status (every 2 s)"),
        (commands.CommandPoller, "poll", "  CommandPoller.poll"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        from torch.utils.tensorboard import SummaryWriter

        bare, tracked = Loop(scenario), Loop(scenario)
        run = tracked.track("profile", tmp)
        writer = SummaryWriter(log_dir=str(Path(tmp) / "tensorboard"))
        try:
            bare_steps(bare, 20)
            tracked_steps(tracked, run, 20)
            gc.collect()  # as `measure` does before timing
            wall = {"bare": 0.0, "tracked": 0.0}
            cpu = {"bare": 0.0, "tracked": 0.0}
            for i in range(8):  # interleaved eighths, alternating which goes first
                for which in ("bare", "tracked") if i % 2 == 0 else ("tracked", "bare"):
                    c0, t0 = time.thread_time(), time.perf_counter()
                    if which == "bare":
                        bare_steps(bare, steps // 8)
                    else:
                        tracked_steps(tracked, run, steps // 8)
                    wall[which] += time.perf_counter() - t0
                    cpu[which] += time.thread_time() - c0
            n = 8 * (steps // 8)
            for owner, attr, label in parts:
                timed(owner, attr, label)
            try:
                tracked_steps(tracked, run, n // 2)
            finally:
                for owner, attr, inner in reversed(undo):
                    setattr(owner, attr, inner)

            # 3. the logging calls alone, on one step's tensors (D's and G's gradients in place)
            fake, real_logits, fake_logits, loss_real, loss_fake, d_loss = tracked.d_update()
            g_loss = tracked.g_update(fake)
            D, G = tracked.D, tracked.G
            loss = get_loss("nonsaturating")
            nan = torch.tensor(float("nan"))
            tb_step = [0]

            def tensorboard_logging() -> None:
                tb_step[0] += 1
                step = tb_step[0]
                log_d_to_tensorboard(writer, step, d_loss, loss_real, loss_fake, real_logits, fake_logits, D)
                log_g_to_tensorboard(writer, step, g_loss, G)

            def library_norm(params: list[torch.Tensor]) -> torch.Tensor:
                return torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])

            d_params, g_params = list(D.parameters()), list(G.parameters())
            cases: list[tuple[str, Callable[[], object]]] = [
                ("TensorBoard: 10 x .item() + add_scalar, 2 norms", tensorboard_logging),
                (
                    "track: d_step + g_step as examples/own_dcgan.py",
                    lambda: (
                        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D),
                        run.g_step(g_loss, g_params=G),
                    ),
                ),
                (
                    "track: the same, d_loss_real/fake passed too",
                    lambda: (
                        run.d_step(
                            real_logits,
                            fake_logits,
                            d_loss=d_loss,
                            d_loss_real=loss_real,
                            d_loss_fake=loss_fake,
                            d_params=D,
                        ),
                        run.g_step(g_loss, g_params=G),
                    ),
                ),
                (
                    "track: no params (grad norms NaN)",
                    lambda: (run.d_step(real_logits, fake_logits, d_loss=d_loss), run.g_step(g_loss)),
                ),
                (
                    "  list(D.parameters()) + list(G.parameters())",
                    lambda: (list(D.parameters()), list(G.parameters())),
                ),
                (
                    "  measures.grad_norm, D's + G's (its foreach path)",
                    lambda: (grad_norm(d_params), grad_norm(g_params)),
                ),
                (
                    "  the same by torch.nn.utils.get_total_norm",
                    lambda: (library_norm(d_params), library_norm(g_params)),
                ),
                (
                    "  loss.d(real_logits, fake_logits) (the halves)",
                    lambda: loss.d(real_logits, fake_logits, 1.0),
                ),
                (
                    "  measures.d_metrics",
                    lambda: d_metrics(loss, real_logits, fake_logits, loss_real, loss_fake, nan, d_loss),
                ),
            ]
            found: dict[str, list[float]] = {label: [] for label, _ in cases}
            for _ in range(5):
                for label, call in cases:
                    found[label].append(_cpu_us(call, 200))
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(500):
                run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
                run.g_step(g_loss, g_params=G)
            profiler.disable()
        finally:
            run.finish()
            writer.close()
    print(f"\n{scenario}: {n} steps each of the bare and the tracked loop, interleaved")
    for what, spent_in in (("wall", wall), ("CPU", cpu)):
        bare_us, tracked_us = spent_in["bare"] / n * 1e6, spent_in["tracked"] / n * 1e6
        print(
            f"- {what}: bare {bare_us:.0f} µs/step, tracked {tracked_us:.0f} µs/step, "
            f"difference {tracked_us - bare_us:.0f} µs, ratio {bare_us / tracked_us:.3f}"
        )
    bare_us = cpu["bare"] / n * 1e6
    print(f"\nThe tracked path inside the loop ({n // 2} steps, CPU time of the loop's thread):\n")
    print("| part | calls/step | µs/step | % of a bare step |")
    print("| --- | ---: | ---: | ---: |")
    for _, _, label in parts:
        total, calls = spent[label]
        per_step = total / (n // 2) * 1e6
        indent = "&nbsp;" * (len(label) - len(label.lstrip()))
        print(
            f"| {indent}`{label.strip()}` | {calls / (n // 2):.2f} | {per_step:.1f} "
            f"| {100 * per_step / bare_us:.1f} |"
        )
    print("\nThe logging calls alone, per step (CPU µs, 5 repetitions of 200 calls):\n")
    print("| calls | min µs | median µs | min as % of a bare step |")
    print("| --- | ---: | ---: | ---: |")
    for label, _ in cases:
        values = found[label]
        indent = "&nbsp;" * (len(label) - len(label.lstrip()))
        print(
            f"| {indent}{label.strip()} | {min(values):.1f} | {statistics.median(values):.1f} "
            f"| {100 * min(values) / bare_us:.1f} |"
        )
    print("\ncProfile of 500 x (d_step + g_step) alone, top 20 by internal time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks.tracking") -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=50, help="interleaved rounds of every variant (default: %(default)s)"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, of: " + ", ".join(SCENARIOS) + " (default: %(default)s)",
    )
    parser.add_argument(
        "--steps-scale", type=float, default=1.0, help="multiply steps per round (default: %(default)s)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads, every variant alike (default: %(default)s)"
    )
    parser.add_argument("--profile", action="store_true", help="only the breakdown of the tracked step")
    parser.add_argument(
        "--profile-steps", type=int, default=800, help="with --profile: steps profiled (default: %(default)s)"
    )
    parser.add_argument(
        "--device", default="cpu", help="cpu, cuda or auto (cuda when there is one) (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    DEVICE[0] = resolve_device(args.device)
    if DEVICE[0].type == "cuda":
        print(f"device: {torch.cuda.get_device_name(DEVICE[0])}")
    load = os.getloadavg()
    print(
        f"{datetime.date.today()}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.profile:
        for scenario in scenarios:
            profile(scenario, args.profile_steps)
        return
    per_round = ", ".join(f"{s} {max(1, round(SCENARIOS[s][0] * args.steps_scale))}" for s in scenarios)
    print(
        f"rounds {args.rounds} or more (a multiple of the design's orders), steps per round: {per_round}; "
        f"batch {BATCH}\n"
    )
    print("| scenario | variant | steps/s (median) | ratio to bare | median round ratio | CPU-time ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    notes = []
    for scenario in scenarios:
        rows, note = measure(scenario, args.rounds, args.steps_scale)
        notes.append(note)
        for r in rows:
            figures = f"{r['steps_s']:.1f} | {r['ratio']:.3f} | {r['median']:.3f} | {r['cpu_ratio']:.3f}"
            cells = (r["scenario"], r["variant"], figures)
            print("| " + " | ".join(cells) + " |", flush=True)
    print("\n" + "\n".join(notes))
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
