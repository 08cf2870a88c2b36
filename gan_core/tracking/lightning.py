"""The Lightning side of tracking: `GANTrackingCallback` turns a GAN ``LightningModule`` trained with manual
optimization into a tracked run (`gan_core.tracking.track`), with the same run folder, columns, flags and
snapshots as any other run.

The contract, for a module with ``self.automatic_optimization = False`` and two optimizers (D's and G's)
that it steps through ``self.optimizers()``: D is ``self.D``, G is ``self.G`` (other names: the callback's
``discriminator_attr`` / ``generator_attr``), and ``training_step`` returns the step's D logits and losses::

    from gan_core.tracking.lightning import GANTrackingCallback

    class GAN(L.LightningModule):
        def training_step(self, batch, batch_idx):
            opt_d, opt_g = self.optimizers()
            ...                                    # D's update: self.manual_backward(d_loss); opt_d.step()
            ...                                    # G's update: self.manual_backward(g_loss); opt_g.step()
            return dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss, g_loss=g_loss)

    callback = GANTrackingCallback("my-gan", loss="nonsaturating", real=images, fixed_noise=noise)
    L.Trainer(callbacks=[callback], ...).fit(GAN(), loader)

The callback measures the gradient norms itself (the total L2 norm of each optimizer's parameters'
gradients, in ``on_before_optimizer_step``: after the backward, before the update, with AMP's scaling
undone except for a fused optimizer, which unscales inside its step; where ``training_step`` clips them
through ``self.clip_gradients(optimizer, ...)``, just before that clipping, so that a clipped norm does not
hide an exploding one; a clip done by hand, ``torch.nn.utils.clip_grad_norm_``, is not seen), takes D's
accuracies
and mean outputs from the logits, records ``pl_module.hparams`` as the run's config, the optimizers' lr
and betas in every row, and D's updates per row as ``d_steps``.

One row per batch in which G stepped. With several D updates in a batch (a critic's ``n_critic``), return
the last one's logits and loss: only the last D update's values go into a row, ``d_steps`` counts them all.
A batch with D updates but no G update carries its D updates to the next G update's row.

Under a distributed strategy (``ddp``) every rank tracks (`gan_core.track.init` on each; ranks other than
0 get a `RankRun`) and only global rank 0 writes: each row holds the ranks' values averaged in one
collective per G step (D's losses, accuracies and outputs over every rank's shard of the batch; the
gradient norms of the gradients DDP averaged). The dashboard's Stop and Pause reach every rank at the same
step.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

# A Trainer accepts only its own package's Callback class, and `pip install lightning` brings both packages:
# a program that already imported the older `pytorch_lightning` (and not `lightning`) gets its Callback.
try:
    if "pytorch_lightning" in sys.modules and "lightning" not in sys.modules:
        import pytorch_lightning as pl
    else:
        import lightning.pytorch as pl
except ImportError:  # the older package name, when only it is installed
    try:
        import pytorch_lightning as pl
    except ImportError:
        raise ImportError(
            "gan_core.tracking.lightning needs PyTorch Lightning: install the [lightning] extra "
            "(pip install '/path/to/checkout[lightning]', or pip install 'lightning>=2.4')"
        ) from None

from gan_core.tracking import track
from gan_core.tracking.measures import grad_norm

# init keywords the callback fills in itself.
_OWN_INIT_KEYS = {"run_id", "root", "loss", "config", "real", "steps", "opt_d", "opt_g", "source"}
# Batches that returned a GAN step's values with no optimizer step seen through Lightning's hook before the
# callback says so (a few: a loop that accumulates gradients steps its optimizers every few batches).
UNSEEN_STEPS_ERROR_BATCHES = 10


class GANTrackingCallback(pl.Callback):
    """Record a GAN ``LightningModule``'s training as a tracked run in ``<root>/<run_id>/``.

    ``run_id``, ``root``, ``loss``, ``real``, ``steps`` and ``init_options`` (``label_smoothing``,
    ``dataset``, ``model``, ``data_kind``, ``sample_every``, ``eval_every``, ``seed``, ``tensorboard``,
    ``resume``) mean what they mean for `gan_core.track.init`: ``real`` is a batch of real examples, (N, 2)
    points or (N, C, H, W) images in [-1, 1], any device (moved to the module's); ``steps`` the target number
    of G steps (rows), 0 for open-ended; reaching it stops the trainer. ``fixed_noise``: G's input for the
    snapshots, (N, *latent_shape) (64 images make an 8 x 8 grid); None: no snapshots and no quality metrics.
    ``generator_attr`` / ``discriminator_attr``: the module's attributes holding G and D
    (``torch.nn.Module``); an optimizer is D's or G's by which of the two own its parameters.

    The module's ``training_step`` returns a dict: ``real_logits`` and ``fake_logits`` (D's raw outputs on
    the real and fake batch of its last update; shape (B,), (B, 1) or any (B, 1, ..., 1), as
    `TrackedRun.d_step` takes them) and ``g_loss`` (a 0-d tensor or a
    number), optionally ``d_loss`` (default: the loss's own from the logits), ``d_loss_real``,
    ``d_loss_fake`` and ``log`` (a mapping name -> number of the user's own metrics, `TrackedRun.log`).
    The optimizers must be stepped through ``self.optimizers()`` (Lightning's wrappers: the raw
    optimizers' ``step`` bypasses the hook that measures the gradients, and nothing could be recorded: a
    `TrackingError` after `UNSEEN_STEPS_ERROR_BATCHES` batches that returned a step's values with no
    step seen).

    Errors: `ValueError` at the start of training when the module trains with automatic optimization,
    lacks G or D, or an optimizer's parameters belong to neither or both;
    `gan_core.tracking.track.TrackingError` at the first batch whose returned dict lacks a key the step
    needs (and for the arguments `init` refuses). An exception in training ends the run ``failed`` with
    the error; Ctrl-C and a SIGTERM end it ``stopped``, and so does a Trainer's ``max_steps`` reached
    before ``steps`` (which it counts in optimizer steps, D's and G's: the error says so). ``run`` is the
    `TrackedRun` (None before training; a `RankRun`, which writes nothing, on ranks other than 0; kept
    after the end, finished).
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        root: str | None = None,
        loss: str = "nonsaturating",
        real: Tensor | None = None,
        fixed_noise: Tensor | None = None,
        generator_attr: str = "G",
        discriminator_attr: str = "D",
        steps: int = 0,
        **init_options: Any,
    ):
        clash = sorted(_OWN_INIT_KEYS & set(init_options))
        if clash:
            raise TypeError(f"GANTrackingCallback does not take {', '.join(clash)}: the callback sets them")
        # Said here, where the callback is made, not when fit() starts (and as the callback's, not init's)
        allowed = [name for name in inspect.signature(track.init).parameters if name not in _OWN_INIT_KEYS]
        unknown = sorted(set(init_options) - set(allowed))
        if unknown:
            own = [
                name
                for name, parameter in inspect.signature(type(self).__init__).parameters.items()
                if name != "self" and parameter.kind is not parameter.VAR_KEYWORD
            ]
            raise TypeError(
                f"GANTrackingCallback got unknown options {', '.join(unknown)}: allowed {', '.join(own)}, "
                f"and init's {', '.join(allowed)}"
            )
        self.run_id, self.root, self.loss, self.steps = run_id, root, loss, steps
        self.real, self.fixed_noise = real, fixed_noise
        self.generator_attr, self.discriminator_attr = generator_attr, discriminator_attr
        self.init_options = init_options
        self.run: track.TrackedRun | None = None
        self._roles: dict[int, str] = {}  # id(optimizer) -> "d" or "g"
        self._before_clip: dict[int, Tensor] = {}  # id(optimizer) -> its norm before training_step clipped it
        self._d_norms: list[Tensor] = []  # this batch's D updates' gradient norms, on the device
        self._g_norm: Tensor | None = None
        self._unseen = 0  # batches that returned a step's values, no optimizer step seen yet (-1: some seen)

    # ------------------------------------------------------------------ Lightning's hooks
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.run = None
        if pl_module.automatic_optimization:
            raise ValueError(
                f"GANTrackingCallback needs manual optimization: set self.automatic_optimization = False in "
                f"{type(pl_module).__name__}.__init__ and step D's and G's optimizers from self.optimizers() "
                "in training_step (see gan_core.tracking.lightning)"
            )
        G, D = self._network(pl_module, "G"), self._network(pl_module, "D")
        optimizers = {"d": None, "g": None}
        self._roles = {}
        for optimizer in trainer.optimizers:
            role = self._role(optimizer, G, D)
            self._roles[id(optimizer)] = role
            optimizers[role] = optimizers[role] or optimizer
        device = pl_module.device
        self.run = track.init(
            self.run_id,
            root=self.root,
            loss=self.loss,
            config=dict(pl_module.hparams),
            real=self.real.to(device) if self.real is not None else None,
            steps=self.steps,
            opt_d=optimizers["d"],
            opt_g=optimizers["g"],
            source="lightning",
            **self.init_options,
        )
        self._d_norms, self._g_norm, self._unseen = [], None, 0
        self._before_clip = {}
        self._wrap_clip_gradients(pl_module)
        if self.fixed_noise is not None:
            self.run.watch(G, self.fixed_noise.to(device), D=D)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.run is not None:  # the first step's time from its batch's start, not from its first d_step
            self.run.start_clock()

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        # Fired by Lightning's precision plugin inside `LightningOptimizer.step` (manual optimization too),
        # after the closure and before the update: the gradients are the ones the step will apply.
        if self.run is None:
            return
        raw = getattr(optimizer, "_optimizer", optimizer)
        role = self._roles.get(id(raw))
        if role is None:
            return  # an optimizer made after the start of training: not D's or G's as far as we know
        norm = self._before_clip.pop(id(raw), None)  # measured before training_step clipped them
        if norm is None:
            norm = grad_norm(p for group in optimizer.param_groups for p in group["params"])  # on the device
        if role == "d":
            self._d_norms.append(norm)
        else:
            self._g_norm = norm

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        run = self.run
        if run is not None:
            d_norms, g_norm = self._d_norms, self._g_norm
            self._d_norms, self._g_norm = [], None
            if d_norms or g_norm is not None:
                out = self._outputs(outputs, pl_module, need_d=bool(d_norms), need_g=g_norm is not None)
                for norm in d_norms:  # the row keeps the last update's values; d_steps counts them all
                    run.d_step(
                        out["real_logits"],
                        out["fake_logits"],
                        d_loss=out.get("d_loss"),
                        d_loss_real=out.get("d_loss_real"),
                        d_loss_fake=out.get("d_loss_fake"),
                        d_grad_norm=norm,
                    )
                if out.get("log") is not None:
                    run.log(out["log"])
                if g_norm is not None:
                    run.g_step(out["g_loss"], g_grad_norm=g_norm)  # ends the step (its row: with its batch)
                self._unseen = -1  # optimizer steps seen: no warning
            elif self._unseen >= 0 and isinstance(outputs, Mapping) and "g_loss" in outputs:
                self._unseen += 1
                if self._unseen == UNSEEN_STEPS_ERROR_BATCHES:
                    # Nothing can be recorded, and the callback's steps (and Lightning's max_steps) never
                    # end such a training: an error, not a warning it would train past for ever.
                    raise track.TrackingError(
                        f"{type(pl_module).__name__}.training_step returned its step's values "
                        f"{UNSEEN_STEPS_ERROR_BATCHES} times but no optimizer step went through "
                        "Lightning: nothing is recorded. Step the optimizers that self.optimizers() returns "
                        "(not the raw ones: use_pl_optimizer=False bypasses the hook that measures the "
                        "gradients, and Lightning's max_steps never counts them)"
                    )
        # Under ddp every rank learns a Stop in the same g_step (`TrackedRun.g_step`): all end together.
        if run is not None and run.should_stop:
            trainer.should_stop = True

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _unwrap_clip_gradients(pl_module)
        run, max_steps = self.run, trainer.max_steps
        if run is None or not run.short_of_target():
            self._finish()  # finished; stopped after the dashboard's Stop; failed when it diverged
        elif 0 < max_steps <= trainer.global_step:
            # Lightning's max_steps counts optimizer steps, D's and G's: it ends the run before its target
            self._finish(
                "stopped",
                f"Lightning's max_steps={max_steps} ended training at step {run.step} of the target "
                f"{run.steps}: it counts every optimizer step, D's and G's; leave max_steps unset (the "
                "callback's steps stops training) or set it to the optimizer steps of all the G steps",
            )
        else:  # max_epochs, max_time or a callback's stop
            self._finish("stopped", f"Lightning ended training at step {run.step} of the target {run.steps}")

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        _unwrap_clip_gradients(pl_module)  # (Lightning calls no callback's teardown after an exception)
        if isinstance(exception, KeyboardInterrupt):
            self._finish("stopped", "interrupted (Ctrl-C)")
        elif type(exception).__name__ == "SIGTERMException":  # Lightning's, on a SIGTERM: as a CLI run's
            self._finish("stopped", "terminated (SIGTERM)")
        else:
            self._finish("failed", f"{type(exception).__name__}: {exception}")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._finish()  # only if training ended without on_train_end (a no-op otherwise)
        _unwrap_clip_gradients(pl_module)

    def _wrap_clip_gradients(self, pl_module: pl.LightningModule) -> None:
        """Measure an optimizer's gradient norm when ``training_step`` clips them
        (``self.clip_gradients(optimizer, ...)``, Lightning's way under manual optimization), before the
        clipping: the module's method, wrapped on the instance for the training (`_unwrap_clip_gradients`
        when it ends, however it ends; a wrapper an earlier callback left is replaced)."""
        _unwrap_clip_gradients(pl_module)
        clip = pl_module.clip_gradients

        def clip_gradients(optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            raw = getattr(optimizer, "_optimizer", optimizer)
            if id(raw) in self._roles:
                params = (p for group in raw.param_groups for p in group["params"])
                self._before_clip[id(raw)] = grad_norm(params)
            return clip(optimizer, *args, **kwargs)

        clip_gradients._gan_tracking = True
        pl_module.clip_gradients = clip_gradients

    # ------------------------------------------------------------------ inside
    def _finish(self, status: str | None = None, error: str | None = None) -> None:
        if self.run is not None:
            self.run.finish(status, error)  # idempotent: the first of the hooks that end a run decides

    def _network(self, pl_module: pl.LightningModule, which: str) -> torch.nn.Module:
        attr = self.generator_attr if which == "G" else self.discriminator_attr
        network = getattr(pl_module, attr, None)
        if not isinstance(network, torch.nn.Module):
            option = "generator_attr" if which == "G" else "discriminator_attr"
            raise ValueError(
                f"GANTrackingCallback({option}={attr!r}) names {type(pl_module).__name__}.{attr}, which is "
                f"{'missing' if network is None else type(network).__name__}: pass the attribute that holds "
                f"{which} (a torch.nn.Module)"
            )
        return network

    def _role(self, optimizer: torch.optim.Optimizer, G: torch.nn.Module, D: torch.nn.Module) -> str:
        params = {id(p) for group in optimizer.param_groups for p in group["params"]}
        in_d = bool(params & {id(p) for p in D.parameters()})
        in_g = bool(params & {id(p) for p in G.parameters()})
        if in_d == in_g:
            raise ValueError(
                f"an optimizer ({type(optimizer).__name__}) updates {'both' if in_d else 'neither'} of "
                f"{self.discriminator_attr} and {self.generator_attr}: GANTrackingCallback needs one "
                "optimizer for D's parameters and one for G's"
            )
        return "d" if in_d else "g"

    def _outputs(self, outputs: Any, pl_module: pl.LightningModule, need_d: bool, need_g: bool) -> Mapping:
        required = (("real_logits", "fake_logits") if need_d else ()) + (("g_loss",) if need_g else ())
        missing = [k for k in required if not isinstance(outputs, Mapping) or outputs.get(k) is None]
        if missing:
            got = sorted(outputs) if isinstance(outputs, Mapping) else type(outputs).__name__
            if outputs is None or (isinstance(outputs, Mapping) and not outputs):  # (Lightning makes None {})
                got = "nothing: it returned None or an empty dict"
            raise track.TrackingError(
                f"{type(pl_module).__name__}.training_step must return a dict with {', '.join(missing)} "
                f"for GANTrackingCallback (got {got}); see gan_core.tracking.lightning"
            )
        return outputs


def _unwrap_clip_gradients(pl_module: pl.LightningModule) -> None:
    """The module's own ``clip_gradients`` again, where `GANTrackingCallback` wrapped it on the instance."""
    if getattr(pl_module.__dict__.get("clip_gradients"), "_gan_tracking", False):
        del pl_module.clip_gradients


__all__ = ["GANTrackingCallback"]
