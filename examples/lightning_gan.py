"""A tiny GAN LightningModule on the bundled 8x8 digits, watched by the dashboard through GANTrackingCallback.

    python examples/lightning_gan.py --steps 300 --run-id lit
    streamlit run dashboard.py        # Runs page: "lit", live while it trains

The lines marked "# track" are all the module and the trainer need (see gan_core.tracking.lightning).
"""

import argparse
import sys
import warnings
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn.functional import softplus
from torch.utils.data import DataLoader, TensorDataset

try:
    import lightning as L
except ModuleNotFoundError as exc:  # an optional extra: requirements.txt does not install it
    sys.exit(f"error: {exc}: pip install lightning, or pip install '/path/to/checkout[lightning]'")

sys.path.append(str(Path(__file__).resolve().parents[1]))  # in a checkout, not installed: its gan_core
try:
    import gan_core.track as track
    from gan_core.tracking.lightning import GANTrackingCallback  # track
except ModuleNotFoundError as exc:  # copied elsewhere: gan_core must be installed or on PYTHONPATH
    sys.exit(f"error: {exc}: pip install '/path/to/checkout[lightning]', or PYTHONPATH=/path/to/checkout")


class DigitsGAN(L.LightningModule):
    """A small DCGAN for (N, 1, 8, 8) images in [-1, 1], the non-saturating loss, manual optimization."""

    def __init__(self, nz: int = 32, lr: float = 2e-4):
        super().__init__()
        self.save_hyperparameters()  # the run's config on the dashboard
        self.automatic_optimization = False  # D and G take turns inside training_step
        self.G = nn.Sequential(  # z: (N, nz, 1, 1)
            nn.ConvTranspose2d(nz, 128, 4, 1, 0, bias=False),  # state size: 128 x 4 x 4
            nn.BatchNorm2d(128),
            nn.ReLU(True),
            nn.ConvTranspose2d(128, 1, 4, 2, 1),  # state size: 1 x 8 x 8
            nn.Tanh(),
        )
        self.D = nn.Sequential(  # x: (N, 1, 8, 8); returns logits (N,)
            nn.Conv2d(1, 64, 4, 2, 1),  # state size: 64 x 4 x 4
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 1, 4, 1, 0),  # state size: 1 x 1 x 1
            nn.Flatten(0),
        )

    def configure_optimizers(self):
        adam = dict(lr=self.hparams.lr, betas=(0.5, 0.999))
        return torch.optim.Adam(self.D.parameters(), **adam), torch.optim.Adam(self.G.parameters(), **adam)

    def training_step(self, batch, batch_idx):
        (real,) = batch
        opt_d, opt_g = self.optimizers()  # Lightning's wrappers: their step() lets the callback see the grads
        fake = self.G(torch.randn(len(real), self.hparams.nz, 1, 1, device=self.device))
        real_logits, fake_logits = self.D(real), self.D(fake.detach())
        d_loss = softplus(-real_logits).mean() + softplus(fake_logits).mean()  # BCE with logits: targets 1, 0
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        g_loss = softplus(-self.D(fake)).mean()  # the non-saturating G loss
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()
        return dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss, g_loss=g_loss)  # track


def train(
    steps: int,
    out: str,
    run_id: str | None = None,
    module: DigitsGAN | None = None,
    seed: int = 0,
    devices: int = 1,
):
    """Train ``module`` (default a fresh DigitsGAN) for ``steps`` G steps on CPU; returns the TrackedRun.
    ``devices`` > 1: that many processes under DDP (started by torchrun, or by Lightning itself)."""
    torch.manual_seed(seed)
    module = module or DigitsGAN()
    # The 1,797 bundled digits, (N, 1, 8, 8) scaled from 0..16 to [-1, 1]; no download.
    images = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0
    callback = GANTrackingCallback(  # track
        run_id,
        root=out,
        loss="nonsaturating",  # D's accuracy threshold and midpoint follow the loss
        real=images,  # shown beside G's samples; the quality metrics' reference
        fixed_noise=torch.randn(64, module.hparams.nz, 1, 1),  # the snapshots' input
        dataset="digits",  # class coverage by the bundled digit classifier
        model="dcgan",  # named beside the loss and the data in Runs and Compare
        steps=steps,
        eval_every=100,  # quality metrics every 100 steps (default 500): a short run gets some
    )
    trainer = L.Trainer(
        accelerator="cpu",
        devices=devices,
        # G's update leaves D's parameters without gradients (and D's G's): DDP must look for them
        strategy="ddp_find_unused_parameters_true" if devices > 1 else "auto",
        max_steps=2 * steps,  # under manual optimization global_step counts D's steps and G's
        callbacks=[callback],  # track
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
    )
    trainer.fit(module, DataLoader(TensorDataset(images), batch_size=64, shuffle=True, drop_last=True))
    return callback.run


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="generator steps (metrics rows) to train")
    parser.add_argument("--out", default=str(track.default_runs_root()), help="the dashboard's runs folder")
    parser.add_argument("--run-id", default=None, help="the run's folder name (default: a fresh one)")
    parser.add_argument("--devices", type=int, default=1, help="processes (DDP; e.g. under torchrun)")
    args = parser.parse_args()
    if args.run_id and (Path(args.out) / args.run_id).exists():  # this example has no way to continue one
        sys.exit(
            f"error: run {args.run_id!r} already exists in {args.out!r}: this example starts a new run "
            "each time, so give another --run-id (or none, for a fresh one)"
        )
    warnings.filterwarnings("ignore", ".*does not have many workers.*")  # in-memory data needs none
    run = train(args.steps, args.out, args.run_id, devices=args.devices)
    if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:  # once per job
        print(f"run {run.run_id}: {run.status} at step {run.recorded_step} in {args.out}/{run.run_id}")
    # Lightning's ddp leaves the process group to the interpreter's exit, where gloo's threads can abort
    # the process (pytorch/pytorch#179291): free what holds it (the finished Trainer's DDP wrapper), then
    # destroy it (a no-op on one process)
    track.destroy_process_group()
