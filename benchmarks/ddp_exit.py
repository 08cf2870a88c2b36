"""How often a finished 2-rank DDP job aborts at exit, by how it leaves the process group.

    python -m benchmarks.ddp_exit [--launches 20]

Each launch is ``torchrun --nproc-per-node 2`` of a 5-step DDP job (gloo, CPU, a tiny MLP); a launch
counts as aborted when a rank printed "terminate called" (gloo's threads torn down during the
interpreter's exit, pytorch/pytorch#179291), which torchrun reports as a failed job. The ways:

- ``torch-globals``: the DDP wrappers in the script's globals, torch's ``dist.destroy_process_group()``;
- ``torch-main``: the wrappers in a ``main()`` that returned, torch's call in a ``finally``;
- ``torch-raised``: that ``main()`` raising, torch's call in the ``finally``;
- ``track-globals``, ``track-main``, ``track-raised``: the same three with
  ``gan_core.track.destroy_process_group()``.

Prints one line per way (aborted launches of all, and launches that exited other than expected).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

WAYS = ("torch-globals", "torch-main", "torch-raised", "track-globals", "track-main", "track-raised")
ROOT = Path(__file__).resolve().parents[1]


def _job(way: str) -> None:
    """One rank of the job (this module run by torchrun with ``--rank-job WAY``)."""
    import torch
    import torch.distributed as dist

    import gan_core.track as track

    torch.set_num_threads(1)

    def train():
        torch.manual_seed(0)
        G = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        D = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        DDP = torch.nn.parallel.DistributedDataParallel
        G_ddp, D_ddp = DDP(G), DDP(D)
        opt = torch.optim.Adam([*G.parameters(), *D.parameters()], 1e-3)
        for _ in range(5):
            loss = D_ddp(G_ddp(torch.randn(32, 4))).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if way.endswith("raised"):
            raise SystemExit(3)  # an expected ending: exit status 3 on every rank
        return G_ddp, D_ddp

    dist.init_process_group("gloo")
    leave = track.destroy_process_group if way.startswith("track") else dist.destroy_process_group
    if way.endswith("globals"):
        global KEPT
        KEPT = train()  # noqa: F841 (the wrappers in the module's globals, as a flat script keeps them)
        leave()
        return
    try:
        train()
    finally:
        leave()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(way: str) -> tuple[bool, bool]:
    """(aborted, exited as expected) for one launch."""
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"),
        *("--master-addr", "127.0.0.1", "--master-port", str(_free_port())),
        *("-m", "benchmarks.ddp_exit", "--rank-job", way),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    aborted = "terminate called" in done.stderr
    expected = ("exitcode  : 3" in done.stderr) if way.endswith("raised") else done.returncode == 0
    return aborted, expected and not aborted


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ddp_exit", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--launches", type=int, default=20, help="launches of each way (default: %(default)s)"
    )
    parser.add_argument(
        "--ways",
        nargs="+",
        choices=WAYS,
        default=list(WAYS),
        metavar="WAY",
        help="ways of leaving the process group, of: " + ", ".join(WAYS) + " (default: all)",
    )
    parser.add_argument("--rank-job", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_job:
        _job(args.rank_job)
        return
    for way in args.ways:
        results = [_launch(way) for _ in range(args.launches)]
        aborted = sum(a for a, _ in results)
        unexpected = sum(not ok and not a for a, ok in results)
        print(f"{way:14s} aborted {aborted:2d}/{args.launches}   other unexpected exits {unexpected}")


if __name__ == "__main__":
    main()
