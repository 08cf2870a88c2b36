"""gan_core.tracking.lightning: the example's LightningModule trained through GANTrackingCallback writes a
normal tracked run (rows, gradient norms equal to the ones measured by hand, snapshots, statuses), and
an error, a broken contract or the dashboard's Stop ends the run as it should."""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.functional import softplus

from gan_core.rundir import RunDir, RunDirError
from gan_core.tracking.commands import send_command
from gan_core.tracking.lightning import GANTrackingCallback
from gan_core.tracking.track import TrackingError, TrackingWarning

pytestmark = pytest.mark.filterwarnings("ignore:.*does not have many workers")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lightning_gan.py"
STEPS = 20


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("lightning_gan_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class HandNorms:
    """Stands in for one of `self.optimizers()` in the example's training_step: notes the total gradient
    norm of ``params`` (the network's own, not the optimizer's list) right before each step()."""

    def __init__(self, optimizer, params, norms: list[float]):
        self.optimizer, self.params, self.norms = optimizer, list(params), norms

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        grads = [p.grad for p in self.params if p.grad is not None]
        self.norms.append(torch.nn.utils.get_total_norm(grads).item())
        self.optimizer.step()  # Lightning's wrapper: the callback's hook fires inside


def read_json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@pytest.fixture(scope="module")
def measured(example):
    """The example's module with its gradient norms noted by hand (``d_norms``, ``g_norms``)."""

    class Measured(example.DigitsGAN):
        def __init__(self):
            super().__init__()
            self.d_norms: list[float] = []
            self.g_norms: list[float] = []

        def optimizers(self):
            opt_d, opt_g = super().optimizers()
            return HandNorms(opt_d, self.D.parameters(), self.d_norms), HandNorms(
                opt_g, self.G.parameters(), self.g_norms
            )

    return Measured


@pytest.fixture(scope="module")
def trained(example, measured, tmp_path_factory):
    """The example's module trained STEPS G steps: (run folder, D's norms, G's norms by hand)."""
    root = tmp_path_factory.mktemp("runs")
    module = measured()
    run = example.train(STEPS, str(root), "lit", module=module)
    assert run.status == "finished"
    return root / "lit", module.d_norms, module.g_norms


def test_rows_are_a_normal_tracked_run(trained):
    folder, _, _ = trained
    rows = RunDir.open(folder.parent, folder.name).read_metrics()
    assert rows["step"].tolist() == list(range(1, STEPS + 1))
    for column in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_grad_norm", "g_grad_norm"):
        assert all(math.isfinite(v) for v in rows[column]), column
    for column in ("d_acc_real", "d_acc_fake"):
        assert rows[column].between(0, 1).all(), column
    assert (rows["d_steps"] == 1).all()
    assert rows["lr_d"].tolist() == pytest.approx([2e-4] * STEPS)
    assert rows["beta1"].tolist() == pytest.approx([0.5] * STEPS)
    assert read_json(folder, "status.json")["status"] == "finished"
    meta = read_json(folder, "run.json")
    assert (meta["source"], meta["loss"], meta["dataset"]) == ("lightning", "nonsaturating", "digits")
    assert meta["model"] == "dcgan"
    assert meta["hparams"] == {"nz": 32, "lr": 2e-4}  # the module's, no file paths or run ids
    samples = {p.name for p in (folder / "samples").glob("step_*.png")}
    assert {"step_00000000.png", f"step_{STEPS:08d}.png"} <= samples


def test_gradient_norms_are_the_ones_before_each_step(trained):
    folder, d_norms, g_norms = trained
    rows = RunDir.open(folder.parent, folder.name).read_metrics()
    assert len(d_norms) == len(g_norms) == STEPS
    assert rows["d_grad_norm"].tolist() == pytest.approx(d_norms, rel=0, abs=1e-5)
    assert rows["g_grad_norm"].tolist() == pytest.approx(g_norms, rel=0, abs=1e-5)


def test_several_d_updates_make_one_row_with_the_last(example, measured, tmp_path):
    class Critic(measured):  # one more D update before the example's D and G updates
        def training_step(self, batch, batch_idx):
            (real,) = batch
            opt_d, _ = self.optimizers()
            fake = self.G(torch.randn(len(real), self.hparams.nz, 1, 1)).detach()
            d_loss = softplus(-self.D(real)).mean() + softplus(self.D(fake)).mean()
            opt_d.zero_grad()
            self.manual_backward(d_loss)
            opt_d.step()
            return super().training_step(batch, batch_idx)

    module = Critic()
    run = example.train(5, str(tmp_path), "critic", module=module)  # (max_steps counts 3 steps a batch)
    rows = RunDir.open(tmp_path, "critic").read_metrics()
    assert run.step == len(rows) == len(module.g_norms) >= 3
    assert rows["d_steps"].tolist() == [2] * len(rows)
    assert rows["d_grad_norm"].tolist() == pytest.approx(module.d_norms[1::2], rel=0, abs=1e-5)
    assert rows["g_grad_norm"].tolist() == pytest.approx(module.g_norms, rel=0, abs=1e-5)


def test_an_error_in_training_step_fails_the_run(example, tmp_path):
    class Broken(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            if batch_idx == 3:
                raise RuntimeError("exploded on purpose")
            return super().training_step(batch, batch_idx)

    with pytest.raises(RuntimeError, match="exploded on purpose"):
        example.train(STEPS, str(tmp_path), "broken", module=Broken())
    status = read_json(tmp_path / "broken", "status.json")
    assert status["status"] == "failed"
    assert status["error"] == "RuntimeError: exploded on purpose"
    assert RunDir.open(tmp_path, "broken").read_metrics()["step"].tolist() == [1, 2, 3]


def test_a_step_without_the_contract_keys_says_which(example, tmp_path):
    class Silent(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            super().training_step(batch, batch_idx)  # returns nothing

    with pytest.raises(TrackingError, match="must return a dict with real_logits, fake_logits, g_loss"):
        example.train(STEPS, str(tmp_path), "silent", module=Silent())
    status = read_json(tmp_path / "silent", "status.json")
    assert status["status"] == "failed" and "real_logits" in status["error"]


def test_missing_networks_are_refused_before_a_folder_is_made(example, tmp_path):
    trainer = example.L.Trainer(
        accelerator="cpu",
        max_steps=2,
        callbacks=[GANTrackingCallback("nogen", root=str(tmp_path), generator_attr="generator")],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
    )
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.zeros(8, 1, 8, 8)), batch_size=4
    )
    with pytest.raises(
        ValueError, match=r"generator_attr='generator'.*DigitsGAN\.generator, which is missing"
    ):
        trainer.fit(example.DigitsGAN(), loader)
    assert not (tmp_path / "nogen").exists()


def test_the_dashboards_stop_stops_the_trainer(example, tmp_path):
    class Stopped(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            if batch_idx == 2:
                send_command(RunDir.open(tmp_path, "stopped"), "stop")
            return super().training_step(batch, batch_idx)

    run = example.train(1000, str(tmp_path), "stopped", module=Stopped())
    assert (run.status, run.stop_reason) == ("stopped", "stop")
    assert read_json(tmp_path / "stopped", "status.json")["status"] == "stopped"
    assert 3 <= run.step < 1000


def test_without_lightning_the_import_names_the_extra(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: importing it raises ImportError
    monkeypatch.delitem(sys.modules, "gan_core.tracking.lightning")
    with pytest.raises(ImportError, match=r"the \[lightning\] extra"):
        importlib.import_module("gan_core.tracking.lightning")


def d_update(module, opt_d, real, clip: float | None = None):
    """One D update of the example's DigitsGAN ``module`` on ``real`` (clipped to norm ``clip`` through
    Lightning's ``clip_gradients`` when given): (fake, real_logits, fake_logits, d_loss)."""
    fake = module.G(torch.randn(len(real), module.hparams.nz, 1, 1))
    real_logits, fake_logits = module.D(real), module.D(fake.detach())
    d_loss = softplus(-real_logits).mean() + softplus(fake_logits).mean()
    opt_d.zero_grad()
    module.manual_backward(d_loss)
    if clip is not None:
        module.clip_gradients(opt_d, gradient_clip_val=clip, gradient_clip_algorithm="norm")
    opt_d.step()
    return fake, real_logits, fake_logits, d_loss


def fit(example, module, callback, **options):
    """``module`` trained on 12 batches of digits by a Trainer with ``options`` (max_epochs 1 by default)."""
    trainer = example.L.Trainer(
        accelerator="cpu",
        callbacks=[callback],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        **{"max_epochs": 1, **options},
    )
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.rand(48, 1, 8, 8) * 2 - 1), batch_size=4
    )
    trainer.fit(module, loader)
    return callback.run


def test_automatic_optimization_is_refused_with_what_to_set(example, tmp_path):
    class Automatic(example.DigitsGAN):  # one optimizer for both, as automatic optimization allows
        def __init__(self):
            super().__init__()
            self.automatic_optimization = True

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters())

        def training_step(self, batch, batch_idx):
            (real,) = batch
            return softplus(-self.D(real)).mean()

    callback = GANTrackingCallback("auto", root=str(tmp_path))
    with pytest.raises(
        ValueError, match=r"needs manual optimization: set self.automatic_optimization = False"
    ):
        fit(example, Automatic(), callback)
    assert not (tmp_path / "auto").exists()


def test_raw_optimizers_that_bypass_the_hook_are_an_error_not_a_run_that_records_nothing(example, tmp_path):
    """It was a warning, and an open-ended run (or one whose steps the callback counts) then trained for
    ever at step 0: nothing can be recorded, and neither steps nor max_steps ever ends it."""

    class Raw(example.DigitsGAN):
        def optimizers(self):
            return super().optimizers(use_pl_optimizer=False)

    callback = GANTrackingCallback("raw", root=str(tmp_path), steps=100)
    with pytest.raises(TrackingError, match=r"returned its step's values 10 times but no optimizer step"):
        fit(example, Raw(), callback, max_epochs=100)
    run = callback.run
    assert run.step == 0 and run.status == "failed"
    assert read_json(tmp_path / "raw", "status.json")["status"] == "failed"


def test_norms_are_taken_before_the_modules_own_clipping(example, tmp_path):
    """Measured inside opt.step(), a norm clipped by self.clip_gradients(..., 0.01) read 0.01 on every row
    (the docstring said "before any clipping"), so exploding_gradients could never be raised."""
    before: dict[str, list[float]] = {"d": [], "g": []}

    class Clipping(example.DigitsGAN):
        def clip_gradients(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            net = self.D if optimizer.optimizer is self.optimizers()[0].optimizer else self.G
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            before["d" if net is self.D else "g"].append(torch.nn.utils.get_total_norm(grads).item())
            return super().clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

        def training_step(self, batch, batch_idx):
            (real,) = batch
            opt_d, opt_g = self.optimizers()
            fake, real_logits, fake_logits, d_loss = d_update(self, opt_d, real, clip=0.01)
            g_loss = softplus(-self.D(fake)).mean()
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            self.clip_gradients(opt_g, gradient_clip_val=0.01, gradient_clip_algorithm="norm")
            opt_g.step()
            return dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss, g_loss=g_loss)

    module = Clipping()
    fit(example, module, GANTrackingCallback("clip", root=str(tmp_path)))
    rows = RunDir.open(tmp_path, "clip").read_metrics()
    assert len(rows) == 12 and len(before["d"]) == len(before["g"]) == 12
    assert min(before["d"]) > 0.05  # the norms clipping cut to 0.01
    for column, hand in (("d_grad_norm", before["d"]), ("g_grad_norm", before["g"])):
        assert rows[column].to_numpy() == pytest.approx(hand, rel=1e-5), column
    assert "clip_gradients" not in module.__dict__  # the module's own method again after training


def test_a_scheduler_stepped_in_training_step_leaves_each_row_the_lr_its_step_applied(example, tmp_path):
    """A review: with Lightning's manual pattern (``sch.step()`` at the end of training_step) each row read
    the lr after its scheduler stepped, 0.00095 for a step that ran at 0.001."""
    applied: dict[str, list[float]] = {"d": [], "g": []}

    class Scheduled(example.DigitsGAN):
        def configure_optimizers(self):
            opt_d, opt_g = super().configure_optimizers()
            return [opt_d, opt_g], [
                torch.optim.lr_scheduler.ExponentialLR(opt_d, 0.97),
                torch.optim.lr_scheduler.ExponentialLR(opt_g, 0.95),
            ]

        def training_step(self, batch, batch_idx):
            (real,) = batch
            opt_d, opt_g = self.optimizers()
            applied["d"].append(opt_d.param_groups[0]["lr"])
            fake, real_logits, fake_logits, d_loss = d_update(self, opt_d, real)
            g_loss = softplus(-self.D(fake)).mean()
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            applied["g"].append(opt_g.param_groups[0]["lr"])
            opt_g.step()
            for scheduler in self.lr_schedulers():
                scheduler.step()
            return dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss, g_loss=g_loss)

    fit(example, Scheduled(), GANTrackingCallback("sched", root=str(tmp_path)))
    rows = RunDir.open(tmp_path, "sched").read_metrics()
    assert len(rows) == 12 and applied["g"][1] == pytest.approx(applied["g"][0] * 0.95)
    assert rows["lr_d"].to_numpy() == pytest.approx(applied["d"], rel=1e-12)
    assert rows["lr_g"].to_numpy() == pytest.approx(applied["g"], rel=1e-12)


def test_a_training_metric_logged_for_the_epoch_only_is_recorded_as_its_epochs_mean(example, tmp_path):
    """A review: ``self.log(name, d_loss, on_step=False, on_epoch=True)`` put each batch's value in its
    row, where Lightning's loggers record the epoch's mean."""

    class EpochMean(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            out = super().training_step(batch, batch_idx)
            self.log("train/d_loss_epoch", out["d_loss"], on_step=False, on_epoch=True)
            self.log("train/g_loss_step", out["g_loss"])  # (on_step, training's default: each row's own)
            # both: each row's own, and the epoch's mean as train/gap_epoch (its epoch value was dropped)
            self.log("train/gap", out["g_loss"] - out["d_loss"], on_step=True, on_epoch=True)
            return out

    fit(example, EpochMean(), GANTrackingCallback("epochs", root=str(tmp_path)), max_epochs=2)
    rows = RunDir.open(tmp_path, "epochs").read_metrics()
    assert len(rows) == 24
    logged = rows["train/d_loss_epoch"]
    assert logged.notna().tolist() == [i in (12, 23) for i in range(24)]  # the next row, then the last
    assert logged[12] == pytest.approx(rows["d_loss"][:12].mean(), rel=1e-5)
    assert logged[23] == pytest.approx(rows["d_loss"][12:].mean(), rel=1e-5)
    assert rows["train/g_loss_step"].to_numpy() == pytest.approx(rows["g_loss"].to_numpy(), rel=1e-5)
    gap = (rows["g_loss"] - rows["d_loss"]).to_numpy()
    assert rows["train/gap"].to_numpy() == pytest.approx(gap, rel=1e-4, abs=1e-6)
    epochs = rows["train/gap_epoch"]
    assert epochs.notna().tolist() == [i in (12, 23) for i in range(24)]
    assert [epochs[12], epochs[23]] == pytest.approx([gap[:12].mean(), gap[12:].mean()], rel=1e-4, abs=1e-6)


def test_the_first_rows_time_is_its_batchs_not_the_instant_after_its_updates(example, tmp_path):
    """The step clock started at the first d_step, which the callback makes at the batch's end: row 1's
    samples_per_s read 100-400 times the others' and flattened Compare's chart."""
    fit(example, example.DigitsGAN(), GANTrackingCallback("clock", root=str(tmp_path)))
    speed = RunDir.open(tmp_path, "clock").read_metrics()["samples_per_s"].to_numpy()
    later = float(np.median(speed[1:]))
    # (the bug: 100-400x; a machine whose hypervisor took 76% of its CPU time gave one batch over 5x)
    assert 0.1 * later < speed[0] < 10 * later, (speed[0], later)


def test_a_training_step_that_returns_nothing_is_told_so(example, tmp_path):
    class Silent(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            super().training_step(batch, batch_idx)

    with pytest.raises(TrackingError, match=r"must return a dict with real_logits, fake_logits, g_loss .*"
                       r"\(got nothing: it returned None or an empty dict\)"):  # fmt: skip
        fit(example, Silent(), GANTrackingCallback("silent", root=str(tmp_path)))

    class BareLoss(example.DigitsGAN):  # a review: "(got ['loss'])" named a key the module never wrote
        def training_step(self, batch, batch_idx):
            return super().training_step(batch, batch_idx)["g_loss"]

    with pytest.raises(TrackingError, match=r"must return a dict with real_logits, fake_logits, g_loss .*"
                       r"\(got one tensor, which Lightning holds as \{'loss': \.\.\.\}\)"):  # fmt: skip
        fit(example, BareLoss(), GANTrackingCallback("bare", root=str(tmp_path)))


def test_max_steps_that_end_training_short_of_the_target_say_why(example, tmp_path):
    run = fit(
        example, example.DigitsGAN(), GANTrackingCallback("short", root=str(tmp_path), steps=6), max_steps=6
    )
    assert (run.status, run.step) == ("stopped", 3)  # 6 optimizer steps: 3 of D's and 3 of G's
    status = read_json(tmp_path / "short", "status.json")
    assert status["status"] == "stopped"
    assert "max_steps=6 ended training at step 3 of the target 6" in status["error"]
    # max_epochs ending training first: stopped, saying so
    run = fit(example, example.DigitsGAN(), GANTrackingCallback("epoch", root=str(tmp_path), steps=100))
    assert (run.status, run.step) == ("stopped", 12)  # one epoch: 12 batches
    assert read_json(tmp_path / "epoch", "status.json")["error"] == (
        "Lightning ended training at step 12 of the target 100: max_epochs=1 reached (12 batches an epoch); "
        "raise max_epochs, or set max_epochs=-1 and let the callback's steps end training"
    )
    # limit_train_batches cutting the epochs short: named too
    callback = GANTrackingCallback("limited", root=str(tmp_path), steps=100)
    run = fit(example, example.DigitsGAN(), callback, max_epochs=2, limit_train_batches=5)
    assert (run.status, run.step) == ("stopped", 10)
    assert "max_epochs=2 reached (5 batches an epoch, limit_train_batches=5)" in run.error
    # the callback's steps as the only limit: finished at its target
    run = fit(example, example.DigitsGAN(), GANTrackingCallback("whole", root=str(tmp_path), steps=6))
    assert (run.status, run.step) == ("finished", 6)


def test_a_sigterm_stops_the_run_as_it_stops_a_cli_run(example, tmp_path):
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    class Terminated(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            if batch_idx == 3:
                raise SIGTERMException
            return super().training_step(batch, batch_idx)

    with pytest.raises(SIGTERMException):
        fit(example, Terminated(), GANTrackingCallback("term", root=str(tmp_path), steps=10))
    status = read_json(tmp_path / "term", "status.json")
    assert (status["status"], status["error"], status["step"]) == ("stopped", "terminated (SIGTERM)", 3)


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"eval_every": 0}, "GANTrackingCallback: eval_every=0 is invalid: allowed a whole number"),
        ({"steps": -1}, "GANTrackingCallback: steps=-1 is invalid"),
        ({"seed": 1.5}, "GANTrackingCallback: seed=1.5 is invalid"),
    ],
)
def test_a_bad_count_is_said_when_the_callback_is_made(options, said):
    """A review: eval_every=0 was refused only when fit() started, and nothing said how to turn the
    quality evaluation off."""
    with pytest.raises(TrackingError) as caught:
        GANTrackingCallback("x", **options)
    assert str(caught.value).startswith(said)
    assert ("an eval_every past the run's steps" in str(caught.value)) is ("eval_every" in options)
    GANTrackingCallback("x", eval_every=10**9, steps=10, seed=3)  # (what it allows: no error)


def test_an_unknown_option_is_said_when_the_callback_is_made():
    """A typo (evl_every) was a TypeError naming init() when fit() started, with no options listed."""
    said = r"GANTrackingCallback got unknown options evl_every: allowed run_id, .*init's .*eval_every"
    with pytest.raises(TypeError, match=said):
        GANTrackingCallback("typo", evl_every=100)
    assert GANTrackingCallback("fine", eval_every=100).init_options == {"eval_every": 100}


def test_the_callbacks_warnings_give_lightning_advice_not_the_tracking_apis(example, tmp_path):
    """A Lightning run was told to call run.log({'gp': ...}) and to make g_step each step's last call,
    neither of which a LightningModule can do."""

    class Penalised(example.DigitsGAN):  # d_loss returned with a penalty in it, n_critic cut at the end
        def training_step(self, batch, batch_idx):
            (real,) = batch
            opt_d, opt_g = self.optimizers()
            fake, real_logits, fake_logits, d_loss = d_update(self, opt_d, real)
            out = dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss + 1.0)
            if batch_idx % 5 == 4 or self.current_epoch < 5:  # the last epoch: G every 5th batch
                g_loss = softplus(-self.D(fake)).mean()
                opt_g.zero_grad()
                self.manual_backward(g_loss)
                opt_g.step()
                out["g_loss"] = g_loss
            return out

    with pytest.warns(TrackingWarning) as caught:
        fit(example, Penalised(), GANTrackingCallback("advice", root=str(tmp_path)), max_epochs=6)
    said = " | ".join(str(w.message) for w in caught if w.category is TrackingWarning)
    assert "return D's loss without it as d_loss from training_step" in said and "log={'gp': ...}" in said
    assert "training ended at step 62 with 2 D updates from batches with no G update after them" in said
    assert "run.log(" not in said and "make g_step" not in said  # (training_step holds "g_step")


def test_a_fit_that_fails_leaves_no_clip_wrapper_on_the_module(example, tmp_path):
    """Lightning calls no callback's teardown after an exception: the wrapper stayed on the module, and the
    next fit's callback (finding it there) recorded the clipped norms again."""

    class FailsOnce(example.DigitsGAN):
        failing = True

        def training_step(self, batch, batch_idx):
            (real,) = batch
            opt_d, opt_g = self.optimizers()
            if self.failing and batch_idx == 2:
                raise RuntimeError("on purpose")
            fake, real_logits, fake_logits, d_loss = d_update(self, opt_d, real, clip=0.01)
            g_loss = softplus(-self.D(fake)).mean()
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            opt_g.step()
            return dict(real_logits=real_logits, fake_logits=fake_logits, d_loss=d_loss, g_loss=g_loss)

    module = FailsOnce()
    with pytest.raises(RuntimeError, match="on purpose"):
        fit(example, module, GANTrackingCallback("fails", root=str(tmp_path)))
    assert "clip_gradients" not in module.__dict__
    module.failing = False
    fit(example, module, GANTrackingCallback("again", root=str(tmp_path)))
    assert RunDir.open(tmp_path, "again").read_metrics()["d_grad_norm"].min() > 0.05  # not the clipped 0.01


def fit_with(example, module, callback, extra=(), ckpt_path=None, val=None, **options):
    """`fit` with more callbacks (``extra``), Lightning's ``ckpt_path`` and validation batches ``val`` (a
    DataLoader); returns the Trainer."""
    trainer = example.L.Trainer(
        accelerator="cpu",
        callbacks=[callback, *extra],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        **{"max_epochs": 1, "enable_checkpointing": False, **options},
    )
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.rand(48, 1, 8, 8) * 2 - 1), batch_size=4
    )
    trainer.fit(module, loader, val, ckpt_path=ckpt_path)
    return trainer


def test_a_resume_from_a_lightning_checkpoint_goes_on_from_its_step(example, tmp_path):
    """fit(ckpt_path=last.ckpt) with resume=True went on from the run's last row (17) instead of the
    checkpoint's step (12): rows 13-17 were of a history Lightning threw away, and every later row was
    labelled 5 steps late."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    class Preempted(example.L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch == 1 and batch_idx == 5:
                raise RuntimeError("preempted")

    checkpoints = tmp_path / "ckpt"
    saver = ModelCheckpoint(dirpath=checkpoints, save_last=True, every_n_epochs=1)
    callback = GANTrackingCallback(
        "res", root=str(tmp_path), fixed_noise=torch.randn(64, 32, 1, 1), sample_every=5
    )
    with pytest.raises(RuntimeError, match="preempted"):
        fit_with(
            example,
            example.DigitsGAN(),
            callback,
            [saver, Preempted()],
            max_epochs=2,
            enable_checkpointing=True,
        )
    folder = RunDir.open(tmp_path, "res")
    assert folder.read_metrics()["step"].tolist() == list(range(1, 18))  # epoch 1's 12, then 5
    assert [s for s, _ in folder.snapshot_steps()] == [0, 5, 10, 15, 17]  # (17: where it failed)

    callback = GANTrackingCallback(
        "res", root=str(tmp_path), fixed_noise=torch.randn(64, 32, 1, 1), sample_every=5, resume=True
    )
    saver = ModelCheckpoint(dirpath=checkpoints, save_last=True, every_n_epochs=1)
    trainer = fit_with(
        example,
        example.DigitsGAN(),
        callback,
        [saver],
        ckpt_path=str(checkpoints / "last.ckpt"),
        max_epochs=2,
        enable_checkpointing=True,
    )
    assert trainer.global_step == 48 and callback.run.step == 24  # two optimizer steps a G step
    rows = folder.read_metrics()
    assert rows["step"].tolist() == list(range(1, 25))
    assert rows["time_s"].is_monotonic_increasing  # the replaced stretch's time went with its rows
    assert [s for s, _ in folder.snapshot_steps()] == [0, 5, 10, 15, 20, 24]  # 17 gone, 15 taken again
    resumes = [e for e in folder.read_events().to_dict("records") if e["kind"] == "resume"]
    assert [(e["step"], e["fields"]) for e in resumes] == [(12, {"from_step": 12, "replaced": 5})]
    assert resumes[0]["detail"] == "from the checkpoint at step 12; 5 rows logged after it replaced"
    # the checkpoint carries the callback's step: it saved 24 at the end
    state = torch.load(checkpoints / "last.ckpt", weights_only=True)["callbacks"]
    assert {"run_id": "res", "step": 24} in state.values()


def test_a_checkpoint_without_the_callbacks_step_is_said(example, tmp_path):
    callback = GANTrackingCallback("old", root=str(tmp_path), resume=True)
    trainer = fit_with(example, example.DigitsGAN(), callback, max_epochs=1)
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)
    saved["callbacks"] = {}  # as a checkpoint saved without the callback
    torch.save(saved, path)
    callback = GANTrackingCallback("old", root=str(tmp_path), resume=True)
    with pytest.warns(TrackingWarning, match=r"restored a checkpoint with no step of GANTrackingCallback's"):
        fit_with(example, example.DigitsGAN(), callback, ckpt_path=str(path), max_epochs=2)
    assert RunDir.open(tmp_path, "old").read_metrics()["step"].tolist() == list(range(1, 25))


def warning_events(root, run_id: str) -> list[tuple[int, str]]:
    events = RunDir.open(root, run_id).read_events().to_dict("records")
    return [(e["step"], e["fields"]["check"]) for e in events if e["kind"] == "warning"]


def test_a_resume_without_a_checkpoint_says_the_weights_are_not_restored(example, tmp_path):
    """resume=True without fit(ckpt_path=...) went on from the run's last row with freshly built G and D,
    unsaid (a review's losses jumped back to their first values at step 551)."""
    fit_with(example, example.DigitsGAN(), GANTrackingCallback("again", root=str(tmp_path)), max_epochs=1)
    callback = GANTrackingCallback("again", root=str(tmp_path), resume=True)
    with pytest.warns(
        TrackingWarning, match=r"^resume=True without trainer.fit\(..., ckpt_path=...\)"
    ) as said:
        fit_with(example, example.DigitsGAN(), callback, max_epochs=1)
    message = next(str(w.message) for w in said if "resume=True without" in str(w.message))
    assert "the run's rows go on from its last step, 12, but Lightning restored no checkpoint" in message
    assert "and Lightning's global_step (max_steps) from 0" in message
    assert RunDir.open(tmp_path, "again").read_metrics()["step"].tolist() == list(range(1, 25))
    assert warning_events(tmp_path, "again") == [(12, "not_restored")]  # the Train view's banner


def test_a_checkpoint_restored_into_a_new_run_says_whose_steps_count(example, tmp_path):
    """A checkpoint of run "first" restored into a new run: its rows start at step 1 while Lightning's
    global_step (max_steps) goes on from the checkpoint's; a review's fit ended at 200 of 1,700, stopped."""
    callback = GANTrackingCallback("first", root=str(tmp_path))
    trainer = fit_with(example, example.DigitsGAN(), callback, max_epochs=1)
    trainer.save_checkpoint(tmp_path / "first.ckpt")
    callback = GANTrackingCallback("second", root=str(tmp_path))
    with pytest.warns(TrackingWarning, match=r"restored run 'first' at step 12 into a new run") as said:
        fit_with(example, example.DigitsGAN(), callback, ckpt_path=str(tmp_path / "first.ckpt"), max_epochs=2)
    message = next(str(w.message) for w in said if "into a new run" in str(w.message))
    assert "while Lightning's global_step goes on from the checkpoint's (24)" in message
    assert RunDir.open(tmp_path, "second").read_metrics()["step"].tolist() == list(range(1, 13))
    assert warning_events(tmp_path, "second") == [(0, "checkpoint_into_new_run")]
    assert warning_events(tmp_path, "first") == []


def test_a_resume_from_its_own_checkpoint_or_a_new_run_warns_nothing_of_this(example, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*(resume=True without|into a new run)")
        trainer = fit_with(example, example.DigitsGAN(), GANTrackingCallback("own", root=str(tmp_path)))
        trainer.save_checkpoint(tmp_path / "own.ckpt")
        callback = GANTrackingCallback("own", root=str(tmp_path), resume=True)
        fit_with(example, example.DigitsGAN(), callback, ckpt_path=str(tmp_path / "own.ckpt"), max_epochs=2)
        # a script that always passes resume=True, its first fit: a new run, nothing to restore
        warnings.filterwarnings("ignore", message="no run .* in .*: a new one starts")
        fit_with(example, example.DigitsGAN(), GANTrackingCallback("fresh", root=str(tmp_path), resume=True))
    assert warning_events(tmp_path, "own") == [] and warning_events(tmp_path, "fresh") == []
    assert RunDir.open(tmp_path, "fresh").read_metrics()["step"].tolist() == list(range(1, 13))


def test_fast_dev_run_records_nothing_and_leaves_the_id_free(example, tmp_path):
    """Under fast_dev_run the callback made a real run, stopped by "Lightning's max_steps=1" the user
    never set, and the real fit with the same id then failed with RunDirError."""
    callback = GANTrackingCallback("dev", root=str(tmp_path), steps=5)
    with pytest.warns(TrackingWarning, match=r"records nothing under Trainer\(fast_dev_run=...\)"):
        fit_with(example, example.DigitsGAN(), callback, fast_dev_run=True)
    assert callback.run is None and not (tmp_path / "dev").exists()
    fit_with(example, example.DigitsGAN(), callback)  # the same callback, the real fit
    assert (callback.run.status, callback.run.step) == ("finished", 5)

    class Silent(example.DigitsGAN):  # what fast_dev_run is for: the contract is still checked
        def training_step(self, batch, batch_idx):
            super().training_step(batch, batch_idx)

    with pytest.raises(TrackingError, match="must return a dict with real_logits, fake_logits, g_loss"):
        fit_with(example, Silent(), GANTrackingCallback("dev2", root=str(tmp_path)), fast_dev_run=True)
    assert not (tmp_path / "dev2").exists()


def test_a_run_that_failed_before_its_first_row_can_be_started_again(example, tmp_path):
    """The fixed module's rerun with the same id hit RunDirError telling it to pass resume=True, the
    wording of track.init, which a Lightning user does not call."""

    class Silent(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            super().training_step(batch, batch_idx)

    with pytest.raises(TrackingError):
        fit_with(example, Silent(), GANTrackingCallback("again", root=str(tmp_path)))
    assert read_json(tmp_path / "again", "status.json")["status"] == "failed"
    callback = GANTrackingCallback("again", root=str(tmp_path), steps=4)
    with pytest.warns(
        TrackingWarning, match=r"run 'again' ended with no row recorded: it starts again"
    ) as got:
        fit_with(example, example.DigitsGAN(), callback)
    # said at the line that called trainer.fit (fit_with's), not in Lightning's file that calls callbacks
    assert [Path(w.filename).name for w in got if issubclass(w.category, TrackingWarning)] == [
        Path(__file__).name
    ]
    assert (callback.run.status, callback.run.step) == ("finished", 4)
    assert RunDir.open(tmp_path, "again").read_metrics()["step"].tolist() == [1, 2, 3, 4]
    # a run with rows is never started again: the error names the callback's resume=True
    said = r"run 'again' already exists in .*GANTrackingCallback\('again', \.\.\., resume=True\)"
    with pytest.raises(RunDirError, match=said):
        fit_with(example, example.DigitsGAN(), GANTrackingCallback("again", root=str(tmp_path)))
    assert RunDir.open(tmp_path, "again").read_metrics()["step"].tolist() == [1, 2, 3, 4]


def test_what_training_step_self_logs_goes_into_its_row(example, tmp_path):
    """Metrics logged with self.log / self.log_dict never reached the dashboard."""

    class Logging(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            out = super().training_step(batch, batch_idx)
            self.log_dict({"train/fake_std": out["fake_logits"].std(), "g_loss": out["g_loss"]})
            self.log("batch", float(batch_idx))
            self.log("bad name", 1.0)
            self.log("odd_batch", torch.tensor(batch_idx % 2 == 1))  # a comparison: Lightning logs it 0/1
            self.log("even_batch", batch_idx % 2 == 0)
            self.log("d_acc_real", 0.5)  # one's own, under a built-in column's name: said, not recorded
            return out

        def validation_step(self, batch, batch_idx):
            self.log("val/d_real", self.D(batch[0]).mean())

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(8, 1, 8, 8)), batch_size=4)
    trainer = example.L.Trainer(
        accelerator="cpu",
        callbacks=[GANTrackingCallback("logs", root=str(tmp_path), steps=6)],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        val_check_interval=3,
        num_sanity_val_steps=0,
    )
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.rand(48, 1, 8, 8) * 2 - 1), batch_size=4
    )
    with pytest.warns(TrackingWarning) as caught:
        trainer.fit(Logging(), data, loader)
    said = [str(w.message) for w in caught if w.category is TrackingWarning]
    assert sum("metric name 'bad name' is invalid" in m for m in said) == 1
    # A review: a built-in name other than the returned losses was dropped unsaid; g_loss, logged as
    # Lightning users do beside the return, is the row's own and goes unsaid
    own = [m for m in said if "self.log('d_acc_real', ...) is not recorded" in m]
    assert len(own) == 1 and "'train/d_acc_real'" in own[0] and "d_step's arguments" in own[0]
    assert not any("'g_loss'" in m for m in said)
    rows = RunDir.open(tmp_path, "logs").read_metrics()
    assert rows["batch"].tolist() == [0, 1, 2, 3, 4, 5]  # each batch's value in its own row
    assert rows["odd_batch"].tolist() == [0, 1, 0, 1, 0, 1] and rows["even_batch"].tolist() == [1, 0] * 3
    assert rows["train/fake_std"].notna().all()
    assert "bad name" not in rows.columns
    assert rows["d_acc_real"].between(0, 1).all() and not (rows["d_acc_real"] == 0.5).all()
    # validation's: after step 3 (into the next row), and after step 6, the last (into it)
    assert rows["val/d_real"].notna().tolist() == [False, False, False, True, False, True]


def test_the_steps_are_g_steps_global_step_optimizer_steps_and_the_loggers_batches_as_the_docs_say(
    example, tmp_path
):
    """A review: the docs said the user's own loggers plot against every optimizer step (2 a batch); under
    manual optimization Lightning's loggers count batches, from 0."""
    import pandas as pd
    from lightning.pytorch.loggers import CSVLogger

    class Logging(example.DigitsGAN):
        def training_step(self, batch, batch_idx):
            out = super().training_step(batch, batch_idx)
            self.log("fake_mean", out["fake_logits"].mean())
            return out

    callback = GANTrackingCallback("steps", root=str(tmp_path))
    trainer = example.L.Trainer(
        accelerator="cpu", callbacks=[callback], enable_progress_bar=False, enable_model_summary=False,
        logger=CSVLogger(str(tmp_path / "csv"), name="mine"), log_every_n_steps=1, max_epochs=1,
        enable_checkpointing=False,
    )  # fmt: skip
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(24, 1, 8, 8)), 4)
    trainer.fit(Logging(), loader)
    rows = RunDir.open(tmp_path, "steps").read_metrics()
    assert rows["step"].tolist() == list(range(1, 7))  # the dashboard's: G steps
    assert trainer.global_step == 12  # Lightning's: every optimizer step, D's and G's
    (logged,) = (tmp_path / "csv" / "mine").rglob("metrics.csv")
    mine = pd.read_csv(logged).dropna(subset=["fake_mean"])
    assert mine["step"].tolist() == list(range(0, 6))  # the logger's: batches, from 0
    np.testing.assert_allclose(mine["fake_mean"], rows["fake_mean"], rtol=1e-6)  # row k+1 is logged at k
    docs = " ".join((sys.modules[GANTrackingCallback.__module__].__doc__ or "").split())
    assert "the step your own loggers (TensorBoard, CSV) plot against counts batches, from 0" in docs


@pytest.mark.parametrize("given", [dict(resume_from=3), dict(resume=True, resume_from=-1)])
def test_init_refuses_a_resume_from_without_resume_or_below_0(tmp_path, given):
    from gan_core.tracking import track

    with pytest.raises(
        TrackingError, match=r"resume_from=-?\d is invalid: allowed None, or with resume=True"
    ):
        track.init("r", root=str(tmp_path), **given)
    assert not (tmp_path / "r").exists()


def validated(example):
    """The example's module with a validation that logs known values: Lightning's optimizer steps so far
    (2 a G step: where the validation ran), a torchmetrics mean of D's output on the held-out images, a
    constant at the validation's end; and two names that cannot be recorded as logged."""
    import torchmetrics

    class Validated(example.DigitsGAN):
        def __init__(self):
            super().__init__()
            self.d_real = torchmetrics.MeanMetric()

        def validation_step(self, batch, batch_idx):
            self.log("val/optimizer_steps", float(self.trainer.global_step))
            self.d_real(self.D(batch[0]).mean())
            self.log("val/d_real", self.d_real)  # a Metric: Lightning computes it at the validation's end
            self.log("fid", 1.0)  # the dashboard's own evaluation's column
            self.log("val/per_batch", 1.0, on_step=True, on_epoch=False)  # no value for the validation

        def on_validation_epoch_end(self):
            self.log("val/end", 7.5)

    return Validated()


class SeenValidations:
    """A callback noting ``trainer.callback_metrics`` (as floats) at the end of each validation of a fit,
    what the module's validation gave every callback."""

    def __new__(cls, example):
        class Seen(example.L.Callback):
            def __init__(self):
                self.values: list[dict[str, float]] = []

            def on_validation_end(self, trainer, pl_module):
                if not trainer.sanity_checking:
                    self.values.append({k: v.item() for k, v in trainer.callback_metrics.items()})

        return Seen()


def val_loader():
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.rand(8, 1, 8, 8) * 2 - 1), batch_size=4
    )


def logged_at(rows, column: str) -> dict[int, float]:
    """``column``'s values by step, at the rows that hold one (a blank elsewhere)."""
    held = rows[rows[column].notna()]
    return dict(zip(held["step"].astype(int), held[column]))


def test_validation_metrics_go_into_the_row_after_each_validation_the_last_into_the_last_row(
    example, tmp_path
):
    """Metrics logged in validation_step and on_validation_epoch_end never reached the dashboard (a
    warning said so). Validations after G steps 5 and 10 (val_check_interval=5) land in rows 6 and 11, the
    first G steps after them; the one Lightning runs when the callback's steps=12 stops training, which no
    G step follows, in row 12."""
    seen = SeenValidations(example)
    callback = GANTrackingCallback("val", root=str(tmp_path), steps=12)
    with pytest.warns(TrackingWarning) as caught:
        fit_with(example, validated(example), callback, [seen], val=val_loader(), val_check_interval=5)
    assert [v["val/optimizer_steps"] for v in seen.values] == [10, 20, 24]  # after G steps 5, 10, 12
    rows = RunDir.open(tmp_path, "val").read_metrics()
    assert rows["step"].tolist() == list(range(1, 13)) and callback.run.status == "finished"
    assert logged_at(rows, "val/optimizer_steps") == {6: 10, 11: 20, 12: 24}
    assert logged_at(rows, "val/end") == {6: 7.5, 11: 7.5, 12: 7.5}
    assert logged_at(rows, "val/d_real") == dict(zip([6, 11, 12], [v["val/d_real"] for v in seen.values]))
    assert rows["fid"].isna().all() and "val/per_batch" not in rows.columns
    said = [str(w.message) for w in caught if w.category is TrackingWarning]
    assert sum("validation's 'fid' is not recorded on the dashboard under that name" in m for m in said) == 1
    assert sum("self.log it as 'val/fid'" in m for m in said) == 1
    assert (
        sum("self.log('val/per_batch', ...) is not recorded" in m and "on_epoch=True" in m for m in said) == 1
    )
    assert not [m for m in said if "not recorded" in m and "val/optimizer_steps" in m]


@pytest.mark.parametrize("with_nan", [False, True])
def test_a_checkpoint_saved_after_a_validation_carries_its_values_into_the_resumed_runs_next_row(
    example, tmp_path, with_nan
):
    """ModelCheckpoint saves after the validation at an epoch's end, before the next G step's row: a
    resume from it (rows after its step replaced) lost the values the unbroken run put in that row. And a
    fit that ended with a validation wrote it into its last row after the checkpoint was saved: resumed
    from there, the next row does not repeat it, a validation that logged a NaN too (compared as values,
    the NaN differed from the NaN read back, and every value was repeated)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    def module():
        made = validated(example)
        if with_nan:  # a validation loss that diverged
            ends = made.on_validation_epoch_end

            def on_validation_epoch_end():
                ends()
                made.log("val/diverged", float("nan"))

            made.on_validation_epoch_end = on_validation_epoch_end
        return made

    class Preempted(example.L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch == 1 and batch_idx == 5:
                raise RuntimeError("preempted")

    checkpoints = tmp_path / "ckpt"

    def fit_epochs(epochs, extra=(), ckpt_path=None, resume=False):
        saver = ModelCheckpoint(dirpath=checkpoints, save_last=True, every_n_epochs=1)
        callback = GANTrackingCallback("res", root=str(tmp_path), resume=resume)
        options = dict(max_epochs=epochs, enable_checkpointing=True, num_sanity_val_steps=0)
        fit_with(example, module(), callback, [saver, *extra], ckpt_path, val_loader(), **options)
        return RunDir.open(tmp_path, "res").read_metrics()

    with pytest.raises(RuntimeError, match="preempted"):
        fit_epochs(2, [Preempted()])
    rows = RunDir.open(tmp_path, "res").read_metrics()
    assert rows["step"].tolist() == list(range(1, 18))  # epoch 0's 12, then 5
    assert logged_at(rows, "val/optimizer_steps") == {13: 24}  # the validation at epoch 0's end
    d_real = logged_at(rows, "val/d_real")[13]

    rows = fit_epochs(2, ckpt_path=str(checkpoints / "last.ckpt"), resume=True)
    assert rows["step"].tolist() == list(range(1, 25))
    assert logged_at(rows, "val/optimizer_steps") == {13: 24, 24: 48}  # 13 from the checkpoint; 24 the last
    assert logged_at(rows, "val/d_real")[13] == d_real

    rows = fit_epochs(3, ckpt_path=str(checkpoints / "last.ckpt"), resume=True)  # saved at 24, with its 48
    assert rows["step"].tolist() == list(range(1, 37))
    assert logged_at(rows, "val/optimizer_steps") == {13: 24, 24: 48, 36: 72}  # not again at 25


def test_a_validation_over_several_dataloaders_records_each_ones_value(example, tmp_path):
    """With several validation dataloaders Lightning keeps a name's value per dataloader, under
    ``name/dataloader_idx_K``: each is a column of its own, as Lightning's loggers name it."""

    class PerLoader(example.DigitsGAN):
        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            self.log("val/loader", float(dataloader_idx))

    callback = GANTrackingCallback("loaders", root=str(tmp_path), steps=6)
    fit_with(example, PerLoader(), callback, val=[val_loader(), val_loader()], val_check_interval=3)
    rows = RunDir.open(tmp_path, "loaders").read_metrics()
    assert logged_at(rows, "val/loader/dataloader_idx_0") == {4: 0.0, 6: 0.0}
    assert logged_at(rows, "val/loader/dataloader_idx_1") == {4: 1.0, 6: 1.0}


def test_a_trainer_of_one_process_in_a_torchrun_job_is_told_to_pass_devices(example, tmp_path, monkeypatch):
    """torchrun --nproc-per-node 2 of a Trainer left at devices=1: the refusal names Trainer(devices=2), not
    init_process_group (a review: the tracking API's advice, a call no Lightning user makes)."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    said = (
        r"^this process is one of a 2-process job \(WORLD_SIZE=2, as torchrun --nproc-per-node 2 sets\), "
        r"but the Trainer trains in 1 \(devices=1\): pass Trainer\(devices=2, \.\.\.\) \(devices x num_nodes "
        r"= the job's processes\) so that Lightning joins the job, as examples/lightning_gan.py --devices 2 "
        r"does$"
    )
    with pytest.raises(TrackingError, match=said):
        example.train(STEPS, str(tmp_path), "one-of-two")
    assert not (tmp_path / "one-of-two").exists()  # nothing made: the job's other rank may make it


class EndHooks:
    """The example's module, logging in its own on_train_batch_end (each batch's epoch * 100 + index, and
    its returned g_loss) and on_train_epoch_end (10 + the epoch; and 2 + the epoch as a tensor's mean)."""

    def __new__(cls, example):
        class Logged(example.DigitsGAN):
            def on_train_batch_end(self, outputs, batch, batch_idx):
                self.log("train/batch_end", float(100 * self.current_epoch + batch_idx))
                self.log("train/g_loss_again", outputs["g_loss"])

            def on_train_epoch_end(self):
                self.log("train/epoch_end", 10.0 + self.current_epoch)
                self.log("train/epoch_mean", torch.tensor([1.0, 3.0]).mean() + self.current_epoch)

        return Logged()


def test_the_modules_own_batch_and_epoch_end_hooks_log_into_the_rows_lightning_gives_them(example, tmp_path):
    """A review: Lightning calls a module's own on_train_batch_end and on_train_epoch_end after the
    callbacks' hooks. What the module logged in the first went into the next batch's row (the last batch's
    nowhere); in the second, into the next epoch's first row (the last epoch's nowhere). Now each batch's
    goes into its own row, and each epoch's into the row after it, the last into the last row, as a
    validation's does."""
    module = EndHooks(example)
    fit(example, module, GANTrackingCallback("hooks", root=str(tmp_path)), max_epochs=3)
    rows = RunDir.open(tmp_path, "hooks").read_metrics()
    assert rows["step"].tolist() == list(range(1, 37))
    assert rows["train/batch_end"].tolist() == [100 * epoch + i for epoch in range(3) for i in range(12)]
    assert rows["train/g_loss_again"].to_numpy() == pytest.approx(rows["g_loss"].to_numpy(), rel=1e-5)
    assert logged_at(rows, "train/epoch_end") == {13: 10.0, 25: 11.0, 36: 12.0}
    assert logged_at(rows, "train/epoch_mean") == {13: 2.0, 25: 3.0, 36: 4.0}
    assert "on_train_batch_end" not in vars(module)  # the module's own hook again after the fit


def test_a_checkpoint_saved_at_an_epochs_end_carries_what_the_modules_epoch_end_logged(example, tmp_path):
    """ModelCheckpoint saves at an epoch's end after the module's on_train_epoch_end, before the row that
    holds what it logged: a resume from that checkpoint puts the value in the row the unbroken run did."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    class Preempted(example.L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.current_epoch == 1 and batch_idx == 5:
                raise RuntimeError("preempted")

    checkpoints = tmp_path / "ckpt"

    def fit_epochs(extra=(), ckpt_path=None, resume=False):
        saver = ModelCheckpoint(dirpath=checkpoints, save_last=True, every_n_epochs=1)
        callback = GANTrackingCallback("ends", root=str(tmp_path), resume=resume)
        fit_with(
            example,
            EndHooks(example),
            callback,
            [saver, *extra],
            ckpt_path,
            max_epochs=2,
            enable_checkpointing=True,
        )
        return RunDir.open(tmp_path, "ends").read_metrics()

    with pytest.raises(RuntimeError, match="preempted"):
        fit_epochs([Preempted()])
    rows = RunDir.open(tmp_path, "ends").read_metrics()
    assert rows["step"].tolist() == list(range(1, 18))  # epoch 0's 12, then 5
    assert logged_at(rows, "train/epoch_end") == {13: 10.0}

    rows = fit_epochs(ckpt_path=str(checkpoints / "last.ckpt"), resume=True)  # saved at step 12
    assert rows["step"].tolist() == list(range(1, 25))
    assert logged_at(rows, "train/epoch_end") == {13: 10.0, 24: 11.0}
    assert rows["train/batch_end"].tolist() == [100 * epoch + i for epoch in range(2) for i in range(12)]


@pytest.mark.parametrize("hook", ["on_train_epoch_start", "on_train_epoch_end"])
def test_under_ddp_every_rank_meets_in_the_epochs_broadcast_whatever_it_logged(hook):
    """A rank that logged nothing for the epoch skipped the broadcast of rank 0's epoch values: a name
    logged on rank 0 only (``if self.trainer.is_global_zero: self.log(..., rank_zero_only=True)`` in
    on_train_epoch_end, Lightning's way for a metric computed once) left rank 0 alone in the collective,
    and the job hung. Here rank 1 of 2, having logged nothing: it takes rank 0's values."""
    from types import SimpleNamespace

    sent = []

    def broadcast(values, src):
        sent.append((values, src))
        return {"val/fid": 12.5}  # rank 0's

    trainer = SimpleNamespace(
        world_size=2, is_global_zero=False, callback_metrics={}, strategy=SimpleNamespace(broadcast=broadcast)
    )
    callback = GANTrackingCallback("ranks")
    callback.run = object()  # (a run is being tracked; nothing is written here)
    getattr(callback, hook)(trainer, None)
    assert sent == [({}, 0)]
    assert callback._validated == {"val/fid": 12.5}  # for the next G step's row, as on rank 0


def test_a_checkpoint_saved_at_a_batchs_end_holds_that_batchs_step_and_a_resume_loses_no_row(
    example, tmp_path
):
    """A review: ModelCheckpoint(every_n_train_steps=...) saves in its on_train_batch_end, before the
    module's own hook, after which the callback writes the batch's row: the checkpoint said one G step
    fewer than its weights had (4 for global_step 10: 5 G steps), and a resume from it left a row out.
    Each checkpoint holds its weights' step, and the resumed run has every row, once."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    checkpoints = tmp_path / "ckpt"
    saver = ModelCheckpoint(dirpath=checkpoints, every_n_train_steps=10, save_top_k=-1)
    fit_with(
        example,
        EndHooks(example),
        GANTrackingCallback("batches", root=str(tmp_path)),
        [saver],
        enable_checkpointing=True,
    )
    assert RunDir.open(tmp_path, "batches").read_metrics()["train/batch_end"].tolist() == list(range(12))
    saved = {}
    for path in checkpoints.glob("*.ckpt"):
        state = torch.load(path, weights_only=True)
        (tracked,) = [v for k, v in state["callbacks"].items() if "GANTrackingCallback" in k]
        saved[state["global_step"]] = tracked["step"]
    assert saved == {10: 5, 20: 10}  # one D and one G update a batch: 2 optimizer steps a G step

    callback = GANTrackingCallback("batches", root=str(tmp_path), resume=True)
    fit_with(example, EndHooks(example), callback, ckpt_path=str(checkpoints / "epoch=0-step=10.ckpt"))
    rows = RunDir.open(tmp_path, "batches").read_metrics()
    assert rows["step"].tolist() == list(range(1, 13))
    # what the module logged in its on_train_batch_end, the checkpoints' batches' too, in each batch's row
    assert rows["train/batch_end"].tolist() == list(range(12))
