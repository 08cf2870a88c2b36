"""A plain PyTorch DCGAN on the bundled 8x8 digits, watched by the dashboard through gan_core.track.

    streamlit run dashboard.py        # first; open http://localhost:8501/?run=mine (it waits for the run)
    python examples/own_dcgan.py --steps 300 --run-id mine   # then, in another terminal
The lines marked "# track" are all the loop needs to get the dashboard's charts, flags and snapshots."""

import argparse
import sys
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn

sys.path.append(str(Path(__file__).resolve().parents[1]))  # in a checkout, not installed: its gan_core
try:
    import gan_core.track as track  # track
except ModuleNotFoundError as exc:  # copied elsewhere: gan_core must be installed or on PYTHONPATH
    sys.exit(f"error: {exc}: pip install /path/to/checkout, or PYTHONPATH=/path/to/checkout")


def networks(nz: int) -> tuple[nn.Module, nn.Module]:
    """G (z: (N, nz, 1, 1) -> (N, 1, 8, 8) in [-1, 1]) and D (images -> logits (N,))."""
    G = nn.Sequential(  # z: (N, nz, 1, 1)
        nn.ConvTranspose2d(nz, 128, 4, 1, 0, bias=False),  # state size: 128 x 4 x 4
        nn.BatchNorm2d(128),
        nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1),  # state size: 1 x 8 x 8
        nn.Tanh(),
    )
    D = nn.Sequential(  # x: (N, 1, 8, 8); returns logits (N,)
        nn.Conv2d(1, 64, 4, 2, 1),  # state size: 64 x 4 x 4
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 3, 1, 1),  # state size: 128 x 4 x 4
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 1, 4, 1, 0),  # state size: 1 x 1 x 1
        nn.Flatten(0),
    )
    return G, D


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="generator steps to train")
    parser.add_argument("--out", default=str(track.default_runs_root()), help="the dashboard's runs folder")
    parser.add_argument("--run-id", default=None, help="the run's folder name (default: a fresh one)")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--nz", type=int, default=32, help="latent size")
    parser.add_argument("--seed", type=int, default=0)
    if (args := parser.parse_args()).batch_size < 1 or args.nz < 1 or not 0 < args.lr <= 1:
        parser.error("out of range; allowed: --batch-size and --nz at least 1, --lr in (0, 1]")
    if args.run_id and (Path(args.out) / args.run_id).exists():  # this example starts a new run each time
        sys.exit(f"error: run {args.run_id!r} already exists in {args.out!r}: give another --run-id, or none")
    torch.manual_seed(args.seed)
    images = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0  # to [-1, 1]
    G, D = networks(args.nz)
    opt_g, opt_d = (torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.5, 0.999)) for net in (G, D))
    bce, fixed_noise = nn.BCEWithLogitsLoss(), torch.randn(64, args.nz, 1, 1)

    try:
        run = track.init(  # track
            args.run_id,
            root=args.out,
            loss="nonsaturating",  # D's accuracy threshold and midpoint follow the loss
            config={"lr": args.lr, "batch_size": args.batch_size, "nz": args.nz},  # the hyperparameters
            model="dcgan",
            real=images,  # shown beside G's samples; the quality metrics' reference
            dataset="digits",  # class coverage by the bundled digit classifier
            steps=args.steps,
            eval_every=100,  # quality metrics every 100 steps (default 500): a short run gets some
            opt_d=opt_d,
            opt_g=opt_g,
        )
    except ValueError as exc:  # a run id not a valid one, or taken meanwhile: one line, no traceback
        sys.exit(f"error: {exc}")
    with run:  # track: a crash marks the run failed
        run.watch(G, fixed_noise, D=D)  # track: snapshots and quality metrics
        while not run.should_stop:  # track: the target, a Stop from the dashboard, a divergence
            real = images[torch.randint(len(images), (args.batch_size,))]
            fake = G(torch.randn(args.batch_size, args.nz, 1, 1))
            real_logits, fake_logits = D(real), D(fake.detach())
            ones, zeros = torch.ones_like(real_logits), torch.zeros_like(fake_logits)
            d_loss = bce(real_logits, ones) + bce(fake_logits, zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)  # track
            g_loss = bce(D(fake), ones)  # the non-saturating G loss
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            run.log({"fake_std": fake.detach().std()})  # track: a metric of your own
            run.g_step(g_loss, g_params=G)  # track: ends the step (row written with its batch)
    print(f"run {run.run_id}: {run.status} at step {run.recorded_step} in {run.run_dir.path}")


if __name__ == "__main__":
    main()
