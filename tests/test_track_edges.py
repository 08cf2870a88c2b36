"""Edges of the tracking API (`gan_core.track`) a review found: a divergence's message naming only the
columns the step measured, the loss halves of an objective the tracker does not know, a runs folder that
cannot be made, ``sys.exit`` inside ``with run:``, the messages of a misplaced metric name, a G that
cannot take the snapshot's noise and a D that returns a tuple, and a second Ctrl-C during `finish`'s
status write."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import torch

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.rundir import RunDir, RunDirError


def rows_of(root, run_id: str) -> list[dict[str, str]]:
    with open(root / run_id / "metrics.csv") as f:
        return list(csv.DictReader(f))


def events_of(root, run_id: str) -> list[dict[str, str]]:
    with open(root / run_id / "events.csv") as f:
        return list(csv.DictReader(f))


def status_of(root, run_id: str) -> dict:
    return json.loads((root / run_id / "status.json").read_text())


# ---------------------------------------------------------------------------- 1. divergence message
def test_a_divergence_names_only_the_columns_its_step_measured(tmp_path):
    run = track.init("g-only", root=tmp_path, commit_every=0)
    run.g_step(1.0)
    run.g_step(float("nan"))  # no d_step, no g_params: d_loss and the norms are blank, not diverged
    run.finish()
    assert run.status == "failed"
    assert run.error == "diverged at step 2: g_loss not finite"
    assert status_of(tmp_path, "g-only")["error"] == "diverged at step 2: g_loss not finite"


def test_a_divergence_with_a_d_update_names_each_value_not_finite(tmp_path):
    run = track.init("d-and-g", root=tmp_path, commit_every=0)
    run.d_step(torch.randn(8), torch.randn(8), d_loss=float("inf"), d_grad_norm=1.0)
    run.g_step(float("nan"), g_grad_norm=float("inf"))
    run.finish()
    assert run.error == "diverged at step 1: d_loss, g_loss, g_grad_norm not finite"


# ---------------------------------------------------------------------------- 2. loss="": the halves
def unknown_objective_row(tmp_path, run_id: str, **given) -> dict[str, str]:
    """The one row of a loss="" run whose D update was given ``given`` (d_loss, d_loss_real, ...)."""
    run = track.init(run_id, root=tmp_path, loss="", commit_every=0)
    run.d_step(torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5]), d_grad_norm=1.0, **given)
    run.g_step(0.5, g_grad_norm=1.0)
    run.finish()
    assert (run.status, run.error) == ("finished", None)  # a blank loss column is no divergence
    (row,) = rows_of(tmp_path, run_id)
    return row


def test_an_unknown_objective_leaves_the_halves_it_cannot_compute_blank(tmp_path):
    row = unknown_objective_row(tmp_path, "d-loss-only", d_loss=0.75)
    assert float(row["d_loss"]) == pytest.approx(0.75)
    assert (row["d_loss_real"], row["d_loss_fake"]) == ("", "")  # not -mean D(x), mean D(G(z))
    assert float(row["d_real"]) == pytest.approx(1.5)  # the raw scores are still measured
    assert float(row["d_fake"]) == pytest.approx(-0.25)


def test_an_unknown_objective_leaves_d_loss_blank_when_nothing_was_given(tmp_path):
    row = unknown_objective_row(tmp_path, "nothing")
    assert (row["d_loss"], row["d_loss_real"], row["d_loss_fake"]) == ("", "", "")


def test_an_unknown_objective_keeps_the_halves_given_and_sums_them(tmp_path):
    row = unknown_objective_row(tmp_path, "halves", d_loss_real=0.25, d_loss_fake=0.5)
    assert float(row["d_loss_real"]) == pytest.approx(0.25)
    assert float(row["d_loss_fake"]) == pytest.approx(0.5)
    assert float(row["d_loss"]) == pytest.approx(0.75)


def test_an_unknown_objective_with_one_half_given_keeps_it_and_leaves_the_sum_blank(tmp_path):
    row = unknown_objective_row(tmp_path, "one-half", d_loss_real=0.25)
    assert float(row["d_loss_real"]) == pytest.approx(0.25)
    assert (row["d_loss"], row["d_loss_fake"]) == ("", "")


def test_a_named_loss_still_computes_its_own_halves(tmp_path):
    run = track.init("named", root=tmp_path, loss="wgan", commit_every=0)
    run.d_step(torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5]), d_grad_norm=1.0)
    run.g_step(0.5, g_grad_norm=1.0)
    run.finish()
    (row,) = rows_of(tmp_path, "named")
    assert float(row["d_loss_real"]) == pytest.approx(-1.5)
    assert float(row["d_loss_fake"]) == pytest.approx(-0.25)
    assert float(row["d_loss"]) == pytest.approx(-1.75)


# ---------------------------------------------------------------------------- 3. a runs folder not made
ROOT_ALLOWED = (
    "allowed: a folder of runs that exists or can be made (with its parents), where this user can write"
)


@pytest.mark.parametrize("under", ["", "sub"], ids=["the-file", "below-it"])
def test_a_runs_folder_where_a_file_is_is_one_run_dir_error_naming_it(tmp_path, under):
    blocking = tmp_path / "afile"
    blocking.write_text("not a folder")
    root = blocking / under if under else blocking
    with pytest.raises(RunDirError) as raised:
        track.init("r1", root=root)
    assert str(raised.value) == (
        f"runs folder {str(root)!r}: cannot make it ({str(blocking)!r} is a file, not a folder); "
        + ROOT_ALLOWED
    )
    with pytest.raises(RunDirError, match="is a file, not a folder"):  # the built-in trainer's folders too
        RunDir.create(root, GANConfig())
    assert blocking.read_text() == "not a folder"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where nothing can be made")
def test_a_runs_folder_in_a_place_where_nothing_can_be_made_says_the_systems_reason(tmp_path):
    with pytest.raises(RunDirError) as raised:
        track.init("r1", root="/proc/xyz")
    assert str(raised.value) == (
        f"runs folder '/proc/xyz': cannot make it (No such file or directory); {ROOT_ALLOWED}"
    )
    assert isinstance(raised.value.__cause__, FileNotFoundError)


# ---------------------------------------------------------------------------- 4. sys.exit inside `with run:`
def exit_inside_with(tmp_path, run_id: str, steps: int, taken: int, code) -> track.TrackedRun:
    run = track.init(run_id, root=tmp_path, steps=steps, commit_every=0)
    with pytest.raises(SystemExit), run:
        for _ in range(taken):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=1.0, d_grad_norm=1.0)
            run.g_step(0.7, g_grad_norm=1.0)
        sys.exit(code)
    return run


@pytest.mark.parametrize("code", [0, None], ids=["zero", "none"])
def test_a_clean_exit_inside_with_short_of_the_target_ends_the_run_as_the_exit_without_it(tmp_path, code):
    run = exit_inside_with(tmp_path, "clean", steps=10, taken=3, code=code)
    # what the interpreter's exit makes of a script that leaves without `with run:` (t7_proc.py)
    said = "the script exited at step 3 of its target 10 without finish()"
    assert (run.status, run.error) == ("stopped", said)
    assert (status_of(tmp_path, "clean")["status"], status_of(tmp_path, "clean")["error"]) == (
        "stopped",
        said,
    )
    assert events_of(tmp_path, "clean")[-1]["detail"] == f"stopped: {said}"
    assert len(rows_of(tmp_path, "clean")) == 3


def test_a_clean_exit_inside_with_at_the_target_ends_the_run_finished(tmp_path):
    run = exit_inside_with(tmp_path, "at-target", steps=3, taken=3, code=0)
    assert (run.status, run.error) == ("finished", None)


@pytest.mark.parametrize(
    ("code", "said"), [(3, "status 3 (sys.exit(3))"), ("bad", "status 1 (sys.exit('bad'))")]
)
def test_an_exit_with_another_code_inside_with_fails_the_run_naming_it(tmp_path, code, said):
    run = exit_inside_with(tmp_path, "code", steps=10, taken=3, code=code)
    assert (run.status, run.error) == ("failed", f"the script exited with {said}")
    assert status_of(tmp_path, "code")["error"] == f"the script exited with {said}"


# ---------------------------------------------------------------------------- 5. messages
@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("d_loss", "recorded from d_step's arguments"),
        ("g_grad_norm", "recorded from g_step's arguments"),
        ("fid", "a quality metric the tracker's evaluation measures every eval_every steps"),
        ("modes_covered", "a quality metric the tracker's evaluation measures every eval_every steps"),
        ("step", "kept by the tracker itself"),
        ("samples_per_s", "kept by the tracker itself"),
        ("flags", "the failure flags the tracker itself raises"),
        ("lr_g", "read from the optimizer given to init as opt_g="),
        ("beta1", "read from the optimizer given to init as opt_d="),
        ("d_steps", "counted by the tracker itself (the d_step calls of each step)"),
        ("gp_weight", "a setting of the built-in trainer, blank in a run of your own loop"),
    ],
)
def test_logging_a_built_in_column_says_where_the_tracker_gets_it(tmp_path, name, source):
    run = track.init("builtin", root=tmp_path)
    with pytest.raises(track.TrackingError) as raised:
        run.log({name: 1.0})
    said = str(raised.value)
    assert said.startswith(f"metric name {name!r} is a built-in column, {source}")
    assert said.endswith(": choose another name for a metric of your own")
    if name not in ("d_loss", "g_grad_norm"):
        assert "d_step/g_step" not in said and "g_step's arguments" not in said
    run.finish()


def test_the_optimizer_columns_named_are_the_ones_the_optimizers_fill(tmp_path):
    from gan_core.tracking.track import _OPTIMIZER_COLUMNS

    net = torch.nn.Linear(2, 1)
    opt_d, opt_g = torch.optim.Adam(net.parameters(), 1e-3), torch.optim.Adam(net.parameters(), 2e-4)
    run = track.init("optimizers", root=tmp_path, opt_d=opt_d, opt_g=opt_g)
    assert sorted(run._optimizer_hparams()) == sorted(_OPTIMIZER_COLUMNS)
    opt_d.param_groups[0]["lr"], opt_g.param_groups[0]["lr"] = 0.5, 0.25  # each column, its optimizer's
    found = run._optimizer_hparams()
    assert {c: found[c] for c in ("lr_d", "lr_g")} == {"lr_d": 0.5, "lr_g": 0.25}
    assert _OPTIMIZER_COLUMNS["lr_d"] == "opt_d" and _OPTIMIZER_COLUMNS["lr_g"] == "opt_g"
    run.finish()


# ---------------------------------------------------------------------------- 6. Ctrl-C in finish's write
@pytest.mark.parametrize("during", ["status.json", "the event"])
def test_a_second_ctrl_c_during_finishs_status_write_still_leaves_status_json_ended(
    tmp_path, monkeypatch, during
):
    from gan_core.rundir import RunDir as Folder
    from gan_core.tracking.sink import RunDirSink, Sink

    interrupts = []

    def once(original, ends):
        def call(self, what):
            if ends(what) and not interrupts:
                interrupts.append(what)
                raise KeyboardInterrupt  # the second Ctrl-C, in the middle of the write
            return original(self, what)

        return call

    run = track.init("ctrl-c", root=tmp_path, commit_every=0)
    finalized = []
    run.sinks.append(type("Closing", (Sink,), {"finalize": lambda self, status: finalized.append(status)})())
    for _ in range(3):
        run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
        run.g_step(0.7, g_grad_norm=1.0)
    if during == "status.json":
        ends = once(Folder.write_status, lambda status: status["status"] == "stopped")
        monkeypatch.setattr(Folder, "write_status", ends)
    else:
        ends = once(RunDirSink.log_event, lambda event: event["fields"].get("status") == "stopped")
        monkeypatch.setattr(RunDirSink, "log_event", ends)
    with pytest.raises(KeyboardInterrupt), run:
        raise KeyboardInterrupt  # the first Ctrl-C: `with run:` finishes the run
    assert interrupts  # the write was cut short once
    assert status_of(tmp_path, "ctrl-c")["status"] == "stopped"
    assert status_of(tmp_path, "ctrl-c")["error"] == "interrupted (Ctrl-C)"
    ended = [e["detail"] for e in events_of(tmp_path, "ctrl-c") if e["kind"] == "status"]
    assert ended[-1] == "stopped: interrupted (Ctrl-C)"
    assert finalized == ["stopped"]  # every sink closed too (a TensorBoard writer: its status, its file)
    again = track.init("ctrl-c", root=tmp_path, resume=True)  # the claim was released
    assert again.step == 3
    again.finish()


def test_a_snapshot_g_that_cannot_take_the_noise_is_a_tracking_error_with_torchs_as_cause(tmp_path):
    run = track.init("noise", root=tmp_path, commit_every=0)
    G = torch.nn.Linear(4, 2)
    with pytest.raises(track.TrackingError) as raised:
        run.snapshot(G, torch.randn(16, 7))
    said = str(raised.value)
    assert said.startswith("snapshot: G failed on noise of shape (16, 7) on cpu: RuntimeError: mat1 and mat2")
    assert said.endswith("; allowed: noise that G takes as its input, (N, *latent_shape) on G's device")
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert "a G that fails on ``noise``" in track.TrackedRun.snapshot.__doc__
    run.snapshot(G, torch.randn(16, 4))  # the run goes on: a snapshot of noise G takes is saved
    run.finish()
    assert run.status == "finished"


def test_a_snapshot_that_cannot_be_saved_is_not_said_to_be_gs_failure(tmp_path, monkeypatch):
    from gan_core.rundir import RunDir as Folder

    def full(self, name, snapshot):
        raise OSError(28, "No space left on device")

    run = track.init("full", root=tmp_path, commit_every=0)
    monkeypatch.setattr(Folder, "save_snapshot", full)
    with pytest.raises(OSError, match="No space left on device") as raised:
        run.snapshot(torch.nn.Linear(4, 2), torch.randn(16, 4))
    assert not isinstance(raised.value, track.TrackingError)
    run.finish()


@pytest.mark.parametrize("shape", [(8,), (8, 1), (8, 1, 1), (8, 1, 1, 1)])
def test_logits_of_any_b_by_ones_shape_are_recorded_as_the_docs_say(tmp_path, shape):
    run = track.init("shapes", root=tmp_path, loss="wgan", commit_every=0)
    real, fake = torch.arange(8.0).reshape(shape), -torch.arange(8.0).reshape(shape)
    run.d_step(real, fake, d_grad_norm=1.0)
    run.g_step(0.5, g_grad_norm=1.0)
    run.finish()
    (row,) = rows_of(tmp_path, "shapes")
    assert (float(row["d_real"]), float(row["d_fake"])) == (pytest.approx(3.5), pytest.approx(-3.5))
    assert "any (B, 1, ..., 1)" in " ".join(track.TrackedRun.d_step.__doc__.split())
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert "shape (B,), (B, 1) or any (B, 1, ..., 1)" in readme
    with pytest.raises(track.TrackingError, match=r"\(B, 1, \.\.\., 1\) too\), got real_logits \(8, 2\)"):
        track.init("two", root=tmp_path).d_step(torch.zeros(8, 2), torch.zeros(8, 2))


def test_a_tuple_passed_as_logits_says_what_was_given_and_how_to_mend_it(tmp_path):
    run = track.init("tuple", root=tmp_path)
    logits, features = torch.zeros(8, 1), torch.zeros(8, 16)
    with pytest.raises(track.TrackingError) as raised:
        run.d_step((logits, features), (logits, features), d_loss=1.0)
    assert str(raised.value) == (
        "d_step needs real_logits and fake_logits as tensors (D's raw outputs), got a tuple of 2 and a tuple "
        "of 2: perhaps D returned (logits, features) or the like? pass the logits alone, e.g. D(x)[0]"
    )
    with pytest.raises(track.TrackingError, match=r"got a float and a tensor \(8, 1\)$"):
        run.d_step(0.5, logits)
    run.finish()


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_an_own_snapshot_at_a_watched_step_is_the_one_kept_and_said_once(tmp_path, commit_every):
    """run.snapshot(G, own_noise) at a step watch() pictures too (a review's every 500 with sample_every
    50): one file a step, the later writer's, silently; with rows committed in batches the watched picture
    came after it. The user's picture is now the one kept, whichever came first, said once."""
    torch.manual_seed(0)
    G = torch.nn.Linear(4, 2)
    fixed, own = torch.randn(16, 4), 10.0 + torch.randn(16, 4)
    real = torch.randn(64, 2)
    run = track.init("own-snap", root=tmp_path, real=real, sample_every=5, commit_every=commit_every)
    run.watch(G, fixed)
    with pytest.warns(track.TrackingWarning) as caught:
        for step in range(1, 13):
            run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
            if step in (10, 11, 12):
                run.snapshot(G, own)
        run.finish()
    said = [str(w.message) for w in caught if "snapshot()" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("snapshot() at step 10, a step watch() pictures too")
    folder = RunDir.open(tmp_path, "own-snap")
    steps = dict(folder.snapshot_steps())
    assert sorted(steps) == [0, 5, 10, 11, 12]  # (watch pictures step 0, G as given)
    with torch.no_grad():
        mine, watched = G(own).numpy(), G(fixed).numpy()
    for step in (10, 11, 12):  # the user's, at the watched step 10 too
        points = folder.load_snapshot(steps[step])["points"]
        assert abs(points - mine).max() < 1e-4, step
    assert abs(folder.load_snapshot(steps[5])["points"] - watched).max() < 1e-4
    events = [e for e in events_of(tmp_path, "own-snap") if e["kind"] == "warning"]
    assert [json.loads(e["fields"])["check"] for e in events] == ["snapshot_step"]
