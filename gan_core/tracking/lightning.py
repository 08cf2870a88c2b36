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
A batch with D updates but no G update carries its D updates to the next G update's row. The dashboard's
step counts G steps (rows); Lightning's ``global_step`` (``max_steps``, ModelCheckpoint's ``step=``) counts
every optimizer step: (d_steps + 1) per G step, 2 x with one D update; the step your own loggers
(TensorBoard, CSV) plot against counts batches, from 0 (the dashboard's step - 1 where every batch steps G).

What ``training_step`` logs with ``self.log`` / ``self.log_dict`` (numbers and one-element tensors) goes
into the batch's row as custom metrics, named as logged (the value logged at that step; a built-in
column's name is left out, the row has its own: the losses silently, as they come from ``training_step``'s
return, any other, ``d_acc_real`` say, said once in a `TrackingWarning`). A name logged with
``on_step=False`` goes in once an epoch instead, as Lightning's epoch value (its mean, or a Metric's
``compute()``), and one logged with ``on_step=True, on_epoch=True`` both ways: each batch's value under its
name, the epoch's as ``NAME_epoch`` (the name Lightning's own loggers give it), each in the row of the first
G step after the epoch, the last row at the end. What the module's own ``on_train_batch_end`` logs goes
into its batch's row, as ``training_step``'s does (the callback writes the row once that hook returned,
through a wrapper on the instance for the fit: Lightning calls the module's hook after the callbacks');
what its ``on_train_epoch_end`` logs, as an epoch's value does: the epoch value Lightning keeps (with
``sync_dist=True`` the mean over the ranks, otherwise rank 0's), into the row after the epoch.

What the module logs in validation (``validation_step``, ``on_validation_epoch_end``: a torchmetrics FID
or KID, a classifier's score, a reconstruction error) goes in too, named as logged (``val/fid``), as
Lightning aggregated it over the validation (its epoch value in ``trainer.callback_metrics``: the mean, or
a Metric's ``compute()``), in the row of the first G step after the validation. That row's losses are
measured on the parameters before its update, which are the parameters the validation measured: the value
sits beside the losses of the same G and D. (The tracker's own evaluation, and the step Lightning's
loggers plot it at, read G after a row's update: they would put it one row earlier, at the G step that
made those parameters.) The last validation, which no G step follows (Lightning runs one when the
callback's ``steps``, the dashboard's Stop or ``max_epochs`` ends training), goes into the last row
instead (`TrackedRun.log_final`: the row of the G step that made the parameters it measured). A checkpoint
saved after a validation carries its values to the next row, so a resume from it records them as the
unbroken run did. Not recorded, each said once in a `TrackingWarning`: a built-in column's name (``fid``
is the dashboard's own evaluation's, ``d_loss`` the training step's: log yours as ``val/fid``), a name
logged with ``on_epoch=False`` (Lightning keeps no value of it for the validation) and an invalid name.

Resuming: ``trainer.fit(module, loader, ckpt_path=...)`` with ``GANTrackingCallback(run_id, ...,
resume=True)`` goes on from the checkpoint's step: the callback keeps the run's id and step in
Lightning's checkpoints (`state_dict`), and the rows and snapshots after that step, of a history the
checkpoint never saw, are replaced (``resume`` event: ``from_step``, ``replaced``). Without ``ckpt_path``,
``resume=True`` goes on from the run's last row, with a ``warning`` (check ``not_restored``) that
Lightning restored no weights; a checkpoint restored into a new run is said too (``checkpoint_into_new_run``:
its rows start at 1, its ``global_step`` at the checkpoint's). Under ``Trainer(fast_dev_run=...)``
nothing is recorded (no run folder; a `TrackingWarning` says so) but ``training_step``'s returned dict is
still checked.

Under a distributed strategy (``ddp``) every rank tracks (`gan_core.track.init` on each; ranks other than
0 get a `RankRun`) and only global rank 0 writes: each row holds the ranks' values averaged in one
collective per G step (D's losses, accuracies and outputs over every rank's shard of the batch; the
gradient norms of the gradients DDP averaged). The dashboard's Stop and Pause reach every rank at the same
step. A validation's values are rank 0's, as Lightning's own loggers record them (with ``sync_dist=True``
the mean over the ranks), sent to every rank in one broadcast so that all log the same names.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
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

from gan_core.rundir import RunDirError, checked_notes
from gan_core.tracking import track
from gan_core.tracking.measures import grad_norm
from gan_core.tracking.schema import check_metric_name, is_custom_column

_COUNTS = ("sample_every", "eval_every", "seed")  # init's counts the callback passes on (and steps)

# init keywords the callback fills in itself.
_OWN_INIT_KEYS = {
    "run_id",
    "root",
    "loss",
    "config",
    "real",
    "steps",
    "opt_d",
    "opt_g",
    "source",
    "resume_from",
}
# The built-in columns a row takes from training_step's return: a self.log of one of these names in
# training (the usual Lightning habit) is no loss to say.
_RETURNED_COLUMNS = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss")
# Batches that returned a GAN step's values with no optimizer step seen through Lightning's hook before the
# callback says so (a few: a loop that accumulates gradients steps its optimizers every few batches).
UNSEEN_STEPS_ERROR_BATCHES = 10


class GANTrackingCallback(pl.Callback):
    """Record a GAN ``LightningModule``'s training as a tracked run in ``<root>/<run_id>/``.

    ``run_id``, ``root``, ``loss``, ``real``, ``steps`` and ``init_options`` (``label_smoothing``,
    ``dataset``, ``model``, ``data_kind``, ``sample_every``, ``eval_every``, ``seed``, ``tensorboard``,
    ``resume``, ``notes``) mean what they mean for `gan_core.track.init`: ``real`` is a batch of real
    examples, (N, 2) points or (N, C, H, W) images in [-1, 1], any device (moved to the module's); ``steps``
    the target number of G steps (rows), 0 for open-ended; reaching it stops the trainer. ``fixed_noise``:
    G's input for the snapshots, (N, *latent_shape) (64 images make an 8 x 8 grid); None: no snapshots and
    no quality metrics.
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
    needs (and for the arguments `init` refuses); `gan_core.rundir.RunDirError` when ``run_id`` exists
    and ``resume`` is not set (a run of this callback that ended before its first row, a broken
    ``training_step`` say, is started again in its folder instead, with a `TrackingWarning`). An
    exception in training ends the run ``failed`` with the error; Ctrl-C and a SIGTERM end it
    ``stopped``, and so does a Trainer's ``max_steps`` reached before ``steps`` (which it counts in
    optimizer steps, D's and G's: the error says so) or its ``max_epochs`` (the error names it and
    ``limit_train_batches``). ``step`` and ``steps`` count G steps, not Lightning's ``global_step``, which
    counts every optimizer step. ``run`` is the
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
        # The counts' values too (a review: eval_every=0 was refused only when fit() started)
        counts = {"steps": steps, **{k: v for k, v in init_options.items() if k in _COUNTS}}
        try:
            track.checked_counts(**counts)
        except track.TrackingError as exc:
            hint = (
                " (no quality evaluation: an eval_every past the run's steps; no snapshot nor evaluation: "
                "no fixed_noise)"
                if "eval_every=" in str(exc)
                else ""
            )
            raise track.TrackingError(f"GANTrackingCallback: {exc}{hint}") from None
        if init_options.get("notes") is not None:  # (said here too, not when fit() starts)
            try:
                checked_notes(init_options["notes"])
            except RunDirError as exc:
                raise track.TrackingError(f"GANTrackingCallback: {exc}") from None
        self.run_id, self.root, self.loss, self.steps = run_id, root, loss, steps
        self.real, self.fixed_noise = real, fixed_noise
        self.generator_attr, self.discriminator_attr = generator_attr, discriminator_attr
        self.init_options = init_options
        self.run: track.TrackedRun | None = None
        # (trainer, module, outputs) of a batch whose row is yet to be written (`_write_pending_batch`)
        self._pending_batch: tuple[Any, Any, Any] | None = None
        self._trainer: pl.Trainer | None = None  # the fit's, for `state_dict` (None outside a fit)
        self._checkpoint: dict[str, Any] | None = None  # the state a fit's ckpt_path restored (`state_dict`)
        self._dev_run = False  # this fit is Trainer(fast_dev_run=...): checked, not recorded
        self._dev_seen: set[str] = set()  # under fast_dev_run, the roles this batch's optimizer steps had
        self._logged: dict[str, Tensor | float] = {}  # the batch's self.log values (`_wrap_log`)
        self._val_logged: set[str] = set()  # names the module self.log-ged in this validation
        # names training_step self.log-ged with on_step=False this epoch: recorded at its end, as Lightning's
        # loggers do (a review: each row held the batch's value under a name meant as the epoch's mean); and
        # NAME_epoch for a NAME logged with on_step=True and on_epoch=True (its epoch value was dropped)
        self._epoch_logged: set[str] = set()
        # names the module's own on_train_epoch_end self.log-ged: Lightning calls it after the callbacks'
        # hook, so they are read at the next epoch's start (or the training's end, or a checkpoint's save)
        self._end_logged: set[str] = set()
        # the last validation's values, and the last epoch's of training_step's on_step=False names
        # (`on_train_epoch_end`), for the next G step's row (`_validation_values` reads both)
        self._validated: dict[str, float] = {}
        self._said: set[str] = set()  # what the callback warned of once: "fast_dev_run", names (validation's
        # prefixed "validation:")
        self._roles: dict[int, str] = {}  # id(optimizer) -> "d" or "g"
        self._before_clip: dict[int, Tensor] = {}  # id(optimizer) -> its norm before training_step clipped it
        self._d_norms: list[Tensor] = []  # this batch's D updates' gradient norms, on the device
        self._g_norm: Tensor | None = None
        self._lrs: dict[str, float] = {}  # "lr_d", "lr_g": what this batch's updates applied
        self._unseen = 0  # batches that returned a step's values, no optimizer step seen yet (-1: some seen)

    # ------------------------------------------------------------------ Lightning's hooks
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.run, self._trainer, self._pending_batch = None, trainer, None
        checkpoint, self._checkpoint = self._checkpoint, None  # restored for this fit only
        self._dev_run = bool(trainer.fast_dev_run)
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
        self._d_norms, self._g_norm, self._unseen = [], None, 0
        self._before_clip, self._dev_seen, self._logged, self._val_logged = {}, set(), {}, set()
        self._epoch_logged, self._end_logged = set(), set()
        self._validated = {}
        if self._dev_run:  # Lightning's quick check of the loop, which logs and checkpoints nothing either
            if "fast_dev_run" not in self._said:
                self._said.add("fast_dev_run")
                track.warn_user(
                    "GANTrackingCallback records nothing under Trainer(fast_dev_run=...): no run folder is "
                    "made (the run id stays free for the real fit); it only checks that training_step "
                    "returns what the callback needs"
                )
            return
        world = os.environ.get("WORLD_SIZE", "1")
        if trainer.world_size == 1 and world.isdigit() and int(world) > 1:
            # (init's own refusal says to call init_process_group, which a Lightning user never calls)
            raise track.TrackingError(
                f"this process is one of a {world}-process job (WORLD_SIZE={world}, as torchrun "
                f"--nproc-per-node {world} sets), but the Trainer trains in 1 (devices=1): pass "
                f"Trainer(devices={world}, ...) (devices x num_nodes = the job's processes) so that "
                f"Lightning joins the job, as examples/lightning_gan.py --devices {world} does"
            )
        run_id, resume, resume_from = self._continued(trainer, checkpoint)
        if resume_from is not None and checkpoint is not None:  # saved after a validation, before its row
            self._validated = dict(checkpoint.get("validation", {}))
        options = {k: v for k, v in self.init_options.items() if k != "resume"}
        device = pl_module.device
        try:
            self.run = track.init(
                run_id,
                root=self.root,
                loss=self.loss,
                config=dict(pl_module.hparams),
                real=self.real.to(device) if self.real is not None else None,
                steps=self.steps,
                opt_d=optimizers["d"],
                opt_g=optimizers["g"],
                source="lightning",
                resume=resume,
                resume_from=resume_from,
                **options,
            )
        except RunDirError as exc:
            if resume or run_id is None or "already exists" not in str(exc):
                raise
            # init's refusal names its own resume=True, which a Lightning user does not call
            root = self.root if self.root is not None else str(track.default_runs_root())
            raise RunDirError(
                f"run {run_id!r} already exists in {root!r}: choose another run id, or pass "
                f"GANTrackingCallback({run_id!r}, ..., resume=True) to continue it (with trainer.fit(..., "
                "ckpt_path=...) it goes on from the checkpoint's step)"
            ) from None
        if trainer.is_global_zero:
            self._say_checkpoint_mismatch(trainer, resume, resume_from, checkpoint)
        if self._validated and self._recorded_at_resume(trainer, resume_from):
            self._validated = {}
        self._wrap_clip_gradients(pl_module)
        self._wrap_log(pl_module)
        self._wrap_batch_end(trainer, pl_module)
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
        if self.run is None and not self._dev_run:
            return
        raw = getattr(optimizer, "_optimizer", optimizer)
        role = self._roles.get(id(raw))
        if role is None:
            return  # an optimizer made after the start of training: not D's or G's as far as we know
        if self._dev_run:  # nothing measured: the batch's end checks the returned dict against the roles
            self._dev_seen.add(role)
            return
        norm = self._before_clip.pop(id(raw), None)  # measured before training_step clipped them
        if norm is None:
            norm = grad_norm(p for group in optimizer.param_groups for p in group["params"])  # on the device
        # the lr this update applies: a scheduler stepped later in training_step moves the optimizer's on
        # before the batch's end, where the row is written (a review: each row read the next step's lr)
        lr = optimizer.param_groups[0].get("lr") if optimizer.param_groups else None
        if isinstance(lr, int | float) and not isinstance(lr, bool):
            self._lrs[f"lr_{role}"] = float(lr)
        if role == "d":
            self._d_norms.append(norm)
        else:
            self._g_norm = norm

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._dev_run and self._dev_seen:
            self._outputs(outputs, pl_module, need_d="d" in self._dev_seen, need_g="g" in self._dev_seen)
            self._dev_seen = set()
        # A tracked batch's row is written by `_end_batch`, after the module's own on_train_batch_end,
        # which Lightning calls after this hook (`_wrap_batch_end`); a checkpoint saved meanwhile counts it
        # (`state_dict`)
        if self.run is not None:
            self._pending_batch = (trainer, pl_module, outputs)

    def _write_pending_batch(self) -> None:
        """The batch's row, if `on_train_batch_end` left it to be written (once)."""
        pending, self._pending_batch = self._pending_batch, None
        if pending is not None:
            self._end_batch(*pending)

    def _end_batch(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any) -> None:
        """Write the batch's row: after the module's own ``on_train_batch_end`` (what it logs there is
        the batch's, as Lightning's loggers have it), from the wrapper `_wrap_batch_end` puts on it."""
        run = self.run
        if run is not None:
            d_norms, g_norm = self._d_norms, self._g_norm
            self._d_norms, self._g_norm = [], None
            if (
                self._logged
            ):  # the batch's self.log values: into this row (a batch with no G update: the next)
                logged, self._logged = self._logged, {}
                run.log(logged)
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
                if g_norm is not None and self._validated:  # the first G step after a validation
                    validated, self._validated = self._validated, {}
                    run.log(validated)
                if g_norm is not None:
                    lrs, self._lrs = self._lrs, {}
                    run.applied_lrs(**lrs)  # (the lr each update applied, not the scheduler's next)
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
        if run is not None:
            self._read_epoch_end(trainer)
        # What no G step followed goes into the last row: the last validation's values, the last epoch's
        # (training_step's on_step=False names, the module's on_train_epoch_end), and what the module
        # logged after the last row was written (in its on_train_batch_end after a checkpoint's save there,
        # or in a batch with no G step)
        if run is not None and (self._validated or self._logged):
            final = {**self._logged, **self._validated}
            self._validated, self._logged = {}, {}
            try:
                run.log_final(final)
            except track.TrackingError as exc:  # (a diverged run's record ended before the step)
                if trainer.is_global_zero:
                    track.warn_user(f"the last {', '.join(sorted(final))} not recorded: {exc}")
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
            self._finish(
                "stopped",
                f"Lightning ended training at step {run.step} of the target {run.steps}{_why_ended(trainer)}",
            )

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._val_logged = set()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # training_step's names logged with on_step=False, and NAME_epoch of those logged on_step and
        # on_epoch: their epoch values (Lightning's, as its loggers record them) go into the next G step's
        # row, the last row at the end, as a validation's do
        names, self._epoch_logged = self._epoch_logged, set()
        self._take_epoch_values(trainer, names, "training")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._read_epoch_end(trainer)

    def _read_epoch_end(self, trainer: pl.Trainer) -> None:
        """The epoch values of what the module's own ``on_train_epoch_end`` logged (which Lightning calls
        after this callback's): for the next G step's row, as a validation's."""
        names, self._end_logged = self._end_logged, set()
        self._take_epoch_values(trainer, names, "on_train_epoch_end")

    def _take_epoch_values(self, trainer: pl.Trainer, names: set[str], where: str) -> None:
        """The epoch values of ``names`` (`_validation_values`) for the next G step's row. Under DDP every
        rank meets in one broadcast of rank 0's values, whatever names it logged itself: a name logged on
        rank 0 only (``if self.trainer.is_global_zero: self.log(..., rank_zero_only=True)``, Lightning's
        way for a metric computed once) left rank 0 alone in the collective, and the job hung."""
        if self.run is None:
            return
        values = self._validation_values(trainer, names, where) if names else {}
        if trainer.world_size > 1:
            values = trainer.strategy.broadcast(values, src=0)
        self._validated.update(values)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning's trainer.validate() after the fit, and its sanity check before it, record nothing
        if self.run is None or trainer.sanity_checking or trainer.state.fn != "fit":
            return
        values = self._validation_values(trainer)
        if trainer.world_size > 1:  # every rank meets here: rank 0's values (as Lightning's loggers record
            # them), so that every rank logs the same names, which the row's collective needs
            values = trainer.strategy.broadcast(values, src=0)
        self._validated.update(values)

    def state_dict(self) -> dict[str, Any]:
        """What travels in Lightning's checkpoints: the run's id and its step (G steps) when the checkpoint
        was saved, so that ``trainer.fit(..., ckpt_path=...)`` with ``resume=True`` goes on from there.
        Saved at a batch's end (ModelCheckpoint's ``every_n_train_steps``, in its on_train_batch_end)
        before the batch's row is written (`on_train_batch_end`), the step counts the batch's G step: the
        step of the weights saved (a review: one G step short, and the resume lost a row), the row then
        written as usual, with what the module logs in its own on_train_batch_end."""
        run = self.run
        if run is None:
            return {}
        g_step_pending = self._pending_batch is not None and self._g_norm is not None
        state: dict[str, Any] = {"run_id": run.run_id, "step": run.step + g_step_pending}
        # Saved after a validation (ModelCheckpoint's on_validation_end) or at an epoch's end (its
        # on_train_epoch_end, which Lightning calls after the module's): the values for the next row,
        # unless the pending G step's row takes them. (This process's values, with no collective: the
        # checkpoint holds rank 0's.)
        pending = {} if g_step_pending else dict(self._validated)
        if self._end_logged:
            pending.update(
                self._validation_values(self._trainer, set(self._end_logged), "on_train_epoch_end")
            )
        if pending:
            state["validation"] = pending
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        run_id, step = state_dict.get("run_id"), state_dict.get("step")
        valid = isinstance(run_id, str) and isinstance(step, int) and not isinstance(step, bool) and step >= 0
        validation = state_dict.get("validation", {})
        if not isinstance(validation, Mapping) or not all(
            isinstance(k, str) and isinstance(v, float) for k, v in validation.items()
        ):
            validation = {}  # (not this version's: the values of a validation are a bonus, not the step)
        self._checkpoint = {"run_id": run_id, "step": step, "validation": dict(validation)} if valid else None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        _unwrap_clip_gradients(pl_module)  # (Lightning calls no callback's teardown after an exception)
        if trainer.world_size == 1:  # the row of a batch whose updates were made (the module's own
            # on_train_batch_end raised): kept, as before that hook; under DDP no collective now
            with contextlib.suppress(Exception):
                self._write_pending_batch()
        self._pending_batch = None
        if isinstance(exception, KeyboardInterrupt):
            self._finish("stopped", "interrupted (Ctrl-C)")
        elif type(exception).__name__ == "SIGTERMException":  # Lightning's, on a SIGTERM: as a CLI run's
            self._finish("stopped", "terminated (SIGTERM)")
        elif self.run is not None:  # (a broken collective of a DDP job: another rank's end, said so)
            self._finish("failed", self.run.failure(exception))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._finish()  # only if training ended without on_train_end (a no-op otherwise)
        self._trainer, self._pending_batch = None, None
        _unwrap_clip_gradients(pl_module)

    def _continued(self, trainer: pl.Trainer, checkpoint: dict[str, Any] | None) -> tuple[Any, bool, Any]:
        """(run_id, resume, resume_from) for `track.init`. With ``resume=True`` and a checkpoint restored
        by ``fit(ckpt_path=...)``: the run goes on from the checkpoint's step (rows after it replaced; a
        checkpoint with no step of this callback's, or another run's, goes on from the last row, warned).
        Without ``resume``: a run of this id that ended with no row is started again in its folder by
        `track.init` (any other existing run: init's `RunDirError`, which `on_train_start` words for this
        callback)."""
        run_id, resume = self.run_id, bool(self.init_options.get("resume", False))
        if resume and trainer.ckpt_path is not None:
            if checkpoint is not None and run_id in (None, checkpoint["run_id"]):
                return checkpoint["run_id"], True, checkpoint["step"]
            what = (
                f"of run {checkpoint['run_id']!r}, not {run_id!r}"
                if checkpoint is not None
                else "with no step of GANTrackingCallback's (saved without it, or by an older version)"
            )
            track.warn_user(
                f"fit(ckpt_path=...) restored a checkpoint {what}: the run's rows go on from its last one, "
                "which may lie past the checkpoint's step"
            )
        # (a run of this id that ended with no row: `track.init` starts it again in its folder itself)
        return run_id, resume, None

    def _say_checkpoint_mismatch(
        self, trainer: pl.Trainer, resume: bool, resume_from: int | None, checkpoint: dict[str, Any] | None
    ) -> None:
        """Warn (a `TrackingWarning` and a ``warning`` event, the Train view's banner) where the run's steps
        and the model's state part: ``resume=True`` with no ``fit(ckpt_path=...)``, the rows going on from
        the run's last step with the weights the module was built with (a review's losses jumped back to
        their first values at step 551, unsaid); or a checkpoint restored into a new run, whose rows start
        at step 1 while Lightning's ``global_step`` goes on from the checkpoint's (``max_steps`` then ends
        the fit early)."""
        run = self.run
        if resume and resume_from is None and trainer.ckpt_path is None and run.step > 0:
            run._warn(
                f"resume=True without trainer.fit(..., ckpt_path=...): the run's rows go on from its last "
                f"step, {run.step:,}, but Lightning restored no checkpoint, so G and D train on from the "
                "weights the module was built with (unless your code loaded them), and Lightning's "
                "global_step (max_steps) from 0. To go on from where the run was, pass the checkpoint saved "
                "by its fit: trainer.fit(module, loader, ckpt_path=...)",
                "not_restored",
                step=run.step,
            )
        elif not resume and trainer.ckpt_path is not None:
            source = (
                f"run {checkpoint['run_id']!r} at step {checkpoint['step']:,}"
                if checkpoint
                else "a checkpoint"
            )
            run._warn(
                f"trainer.fit(..., ckpt_path=...) restored {source} into a new run, whose rows start at "
                "step 1, while Lightning's global_step goes on from the checkpoint's "
                f"({trainer.global_step:,}): max_steps counts the checkpoint's steps too, and your own "
                "loggers' steps are not the dashboard's. To continue that run instead, pass "
                "GANTrackingCallback(its id, ..., resume=True)",
                "checkpoint_into_new_run",
                step=0,
            )

    def _recorded_at_resume(self, trainer: pl.Trainer, resume_from: int | None) -> bool:
        """True when the checkpoint's validation values (`state_dict`) are in its step's row already: a fit
        that ended with that validation wrote them into its last row (`TrackedRun.log_final`) after it saved
        the checkpoint, and the next row must not repeat them (a NaN the same as a NaN: a validation whose
        loss diverged repeated every value at the next row). Rank 0 reads its row; every rank learns its
        answer (one broadcast: every rank logs the same names)."""
        last = self.run.run_dir.last_metrics() if self.run.run_dir is not None else {}
        recorded = last.get("step") == resume_from and all(
            k in last and _same(last[k], v) for k, v in self._validated.items()
        )
        return trainer.strategy.broadcast(recorded, src=0) if trainer.world_size > 1 else recorded

    def _wrap_log(self, pl_module: pl.LightningModule) -> None:
        """Record what ``training_step`` logs with ``self.log`` / ``self.log_dict`` (numbers and
        one-element tensors) as custom metrics of the batch's row, and note the names validation logs:
        the module's method, wrapped on the instance for the training, like ``clip_gradients``. A module
        that logs nothing costs nothing per step."""
        _unwrap(pl_module, "log")
        log = pl_module.log

        def logged(name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
            result = log(name, value, *args, **kwargs)
            trainer = pl_module.trainer
            if (
                trainer.training
                and pl_module._current_fx_name == "on_train_epoch_end"
                and isinstance(name, str)
            ):
                self._end_logged.add(name)  # (its value: Lightning's for the epoch, `_read_epoch_end`)
            elif trainer.training:
                on_step = kwargs.get("on_step", args[2] if len(args) > 2 else None)
                on_epoch = kwargs.get("on_epoch", args[3] if len(args) > 3 else None)
                if on_step is False and isinstance(name, str):  # its epoch's value, not each batch's
                    self._epoch_logged.add(name)
                else:
                    self._collect(trainer, name, value)
                    if on_epoch and isinstance(name, str):  # and its epoch's, as Lightning's loggers name it
                        self._epoch_logged.add(f"{name}_epoch")
            elif trainer.validating and not trainer.sanity_checking and isinstance(name, str):
                self._val_logged.add(name)  # (its value: Lightning's for the epoch, `_validation_values`)
            return result

        logged._gan_tracking = True
        pl_module.log = logged

    def _collect(self, trainer: pl.Trainer, name: Any, value: Any) -> None:
        if isinstance(value, Tensor) and value.numel() == 1:
            # (a torch.bool one, a comparison, Lightning logs as 0/1: so does the row, where run.log
            # itself refuses a truth value)
            value = value.detach().float() if value.dtype is torch.bool else value.detach()
        elif isinstance(value, int | float):  # (a Python bool as 0/1, as Lightning logs it)
            # under DDP as a tensor, as Lightning holds it: averaged over the ranks as a tensor is
            # (`run.log`), where a Python float is kept as rank 0's (0.0 of a rank logged as 0 and 1, where
            # 0.5 is meant); in one process the number itself (no copy to the device)
            value = float(value)
            if trainer.world_size > 1:
                value = torch.tensor(value, dtype=torch.float64)
        else:
            return  # a torchmetrics Metric, a dict: Lightning's to compute, no number per step here
        if isinstance(name, str) and not is_custom_column(name):
            # A built-in column: the row has its own. The losses come from training_step's return (logging
            # them too is the usual Lightning habit: nothing to say); any other (a d_acc_real of one's own
            # threshold, an fid) would be lost unsaid.
            if name not in _RETURNED_COLUMNS:
                self._say(
                    trainer,
                    f"training:{name}",
                    f"training_step's self.log({name!r}, ...) is not recorded on the dashboard under that "
                    f"name: {name!r} is a built-in column ({track.builtin_source(name)}); self.log it as "
                    f"'train/{name}' (any name that is no built-in column) to see it under Custom metrics",
                )
            return
        try:
            check_metric_name(name)
        except ValueError as exc:
            if name not in self._said:
                self._said.add(name)
                track.warn_user(f"self.log of {exc}; it is not recorded on the dashboard")
            return
        self._logged[name] = value

    def _validation_values(
        self, trainer: pl.Trainer, names: set[str] | None = None, where: str = "validation"
    ) -> dict[str, float]:
        """The numbers the module logged in this validation (`_val_logged`; or ``names``, those
        ``training_step`` logged with ``on_step=False`` in this epoch, ``where`` "training") as Lightning
        aggregated them over its batches: ``trainer.callback_metrics``, which holds each name logged
        with ``on_epoch=True`` (validation's default) as its epoch value (a mean, or a torchmetrics
        Metric's ``compute()``; synced over the ranks where logged with ``sync_dist=True``), one per
        dataloader (``name/dataloader_idx_K``) with several. What cannot be recorded is said once a name
        (on rank 0): a name logged with ``on_epoch=False`` (no epoch value), a built-in column's name (the
        dashboard's own: ``fid`` is its evaluation's), a name the run's columns do not allow."""
        metrics = trainer.callback_metrics
        found: dict[str, Any] = {}
        prefix = "val" if where == "validation" else "train"
        for name in sorted(self._val_logged if names is None else names):
            keys = [k for k in metrics if k == name or k.startswith(f"{name}/dataloader_idx_")]
            if not keys:
                self._say(
                    trainer,
                    f"{where}:{name}",
                    f"{where}'s self.log({name!r}, ...) is not recorded on the dashboard: Lightning keeps "
                    f"no value of it for the {'validation' if names is None else 'epoch'} (logged with "
                    "on_epoch=False); log it with on_epoch=True",
                )
            for key in keys:
                value = metrics[key]
                if not (isinstance(value, Tensor) and value.numel() == 1) and not isinstance(
                    value, int | float
                ):
                    self._say(
                        trainer,
                        f"{where}:{key}",
                        f"{where}'s {key!r} is no number ({type(value).__name__}): not recorded",
                    )
                elif not is_custom_column(key):
                    self._say(
                        trainer,
                        f"{where}:{key}",
                        f"{where}'s {key!r} is not recorded on the dashboard under that name: {key!r} is "
                        f"a built-in column ({track.builtin_source(key)}); self.log it as '{prefix}/{key}' "
                        "(any name that is no built-in column) to see it under Custom metrics",
                    )
                else:
                    try:
                        found[check_metric_name(key)] = value
                    except ValueError as exc:
                        self._say(
                            trainer,
                            f"{where}:{key}",
                            f"self.log in {where} of {exc}; it is not recorded on the dashboard",
                        )
        # Host values now, in one transfer (a sync Lightning's own logging of them makes anyway)
        return track.host_values(
            {k: v.detach() if isinstance(v, Tensor) else float(v) for k, v in found.items()}
        )

    def _say(self, trainer: pl.Trainer, key: str, message: str) -> None:
        """``message`` as a `TrackingWarning`, once a ``key`` ("validation:NAME", "training:NAME"), on rank
        0 only."""
        if key not in self._said and trainer.is_global_zero:
            self._said.add(key)
            track.warn_user(message)

    def _wrap_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write each batch's row (`_end_batch`) once the module's own ``on_train_batch_end`` returned:
        Lightning calls the module's hook after the callbacks', and what it logs there belongs to the
        batch's row (a review: it went into the next batch's row, the last batch's nowhere). The module's
        method, wrapped on the instance for the training, as ``log`` is."""
        _unwrap(pl_module, "on_train_batch_end")
        batch_end = pl_module.on_train_batch_end

        def on_train_batch_end(*args: Any, **kwargs: Any) -> Any:  # (outputs, batch, batch_idx)
            result = batch_end(*args, **kwargs)
            self._write_pending_batch()
            return result

        on_train_batch_end._gan_tracking = True
        pl_module.on_train_batch_end = on_train_batch_end

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
            elif isinstance(outputs, Mapping) and list(outputs) == ["loss"]:  # Lightning's wrap of a tensor
                got = "one tensor, which Lightning holds as {'loss': ...}"
            raise track.TrackingError(
                f"{type(pl_module).__name__}.training_step must return a dict with {', '.join(missing)} "
                f"for GANTrackingCallback (got {got}); see gan_core.tracking.lightning"
            )
        return outputs


def _same(recorded: float, value: float) -> bool:
    """Whether ``recorded`` (read back from metrics.csv, where a blank cell is NaN) is ``value``, a NaN
    the same as a NaN."""
    return recorded == value or (math.isnan(recorded) and math.isnan(value))


def _unwrap_clip_gradients(pl_module: pl.LightningModule) -> None:
    """The module's own ``clip_gradients``, ``log`` and ``on_train_batch_end`` again, where
    `GANTrackingCallback` wrapped them on the instance."""
    _unwrap(pl_module, "clip_gradients")
    _unwrap(pl_module, "log")
    _unwrap(pl_module, "on_train_batch_end")


def _unwrap(pl_module: pl.LightningModule, method: str) -> None:
    if getattr(pl_module.__dict__.get(method), "_gan_tracking", False):
        delattr(pl_module, method)


def _why_ended(trainer: pl.Trainer) -> str:
    """Why Lightning ended a training short of the callback's steps, as the end of a sentence: its
    max_epochs (with the epoch's batches, and limit_train_batches where it cut them), or another stop."""
    max_epochs = trainer.max_epochs
    if max_epochs is not None and 0 <= max_epochs <= trainer.current_epoch:
        batches = trainer.num_training_batches
        limit = trainer.limit_train_batches
        epoch = f"{batches:g} batches an epoch" if isinstance(batches, int | float) else "its batches"
        if limit is not None and limit != 1.0:
            epoch += f", limit_train_batches={limit}"
        return (
            f": max_epochs={max_epochs} reached ({epoch}); raise max_epochs, or set max_epochs=-1 and let "
            "the callback's steps end training"
        )
    return " (max_time, or a callback that stopped the Trainer)"


__all__ = ["GANTrackingCallback"]
