"""What the tracked step's cheaper paths (issue 12's speed target) must keep: grad mode as the loop had it
after `d_step` and `g_step` (they switch it off themselves rather than through ``torch.no_grad``), refused
calls included; `RunDirSink.log_rows` writing every record as `log_metrics` does, a record without some
column blank in it; and the ops a usual step adds, counted."""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.rundir import RunDir
from gan_core.tracking.sink import RunDirSink

CFG = GANConfig(dataset="ring8", device="cpu")


def step_tensors(D: nn.Module, G: nn.Module):
    """One textbook step's tensors up to D's backward: (fake, real_logits, fake_logits, d_loss)."""
    real, fake = torch.randn(8, 2), G(torch.randn(8, 2))
    real_logits, fake_logits = D(real), D(fake.detach())
    d_loss = nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()
    D.zero_grad(set_to_none=True)
    d_loss.backward()
    return fake, real_logits, fake_logits, d_loss


def g_backward(D: nn.Module, G: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    g_loss = nn.functional.softplus(-D(fake)).mean()
    G.zero_grad(set_to_none=True)
    g_loss.backward()
    return g_loss


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return nn.Linear(2, 1), nn.Linear(2, 2)  # D, G


@pytest.mark.parametrize("grad_mode", [True, False])
def test_d_step_and_g_step_leave_grad_mode_as_they_found_it(tmp_path, nets, grad_mode):
    D, G = nets
    run = track.init("grad-mode", root=tmp_path)
    fake, real_logits, fake_logits, d_loss = step_tensors(D, G)
    g_loss = g_backward(D, G, fake)
    with torch.set_grad_enabled(grad_mode):
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        assert torch.is_grad_enabled() is grad_mode
        run.g_step(g_loss, g_params=G)
        assert torch.is_grad_enabled() is grad_mode
        D.zero_grad(set_to_none=True)  # refused inside the switched-off stretch: no gradients
        with pytest.raises(track.TrackingError, match="d_params has no gradients"):
            run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        assert torch.is_grad_enabled() is grad_mode
        G.zero_grad(set_to_none=True)
        with pytest.raises(track.TrackingError, match="g_params has no gradients"):
            run.g_step(g_loss, g_params=G)
        assert torch.is_grad_enabled() is grad_mode
    run.finish()
    assert RunDir.open(tmp_path, "grad-mode").read_metrics()["step"].tolist() == [1]


def test_the_tracked_copies_join_no_graph(tmp_path, nets):
    """With grad mode on in the loop, what d_step and g_step keep does not require grad (no graph node
    was made by their copies)."""
    D, G = nets
    run = track.init("no-graph", root=tmp_path, commit_every=60.0)
    fake, real_logits, fake_logits, d_loss = step_tensors(D, G)
    run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
    update = run._pending_d[-1]
    assert not update.logits.requires_grad and not update.numbers.requires_grad
    run.g_step(g_backward(D, G, fake), g_params=G)
    assert not run._steps[-1].tensors.requires_grad
    run.finish()


def test_log_rows_writes_each_record_as_log_metrics_does(tmp_path):
    columns = ("step", "d_loss", "g_loss")
    records = [
        (1, {"step": 1.0, "d_loss": 0.5, "g_loss": 0.25}, ["mode_collapse"]),  # every column
        (2, {"step": 2.0, "g_loss": 0.125, "other": 9.0}, []),  # d_loss missing: blank
    ]
    lines = []
    for name, write in (("rows", "log_rows"), ("one-by-one", "log_metrics")):
        run_dir = RunDir.create(tmp_path, CFG, name)
        run_dir.open_metrics((*columns, "flags"))
        sink = RunDirSink(run_dir, columns)
        if write == "log_rows":
            sink.log_rows(records)
        else:
            for step, metrics, flags in records:
                sink.log_metrics(step, metrics, flags)
        run_dir.close()
        lines.append((run_dir.path / "metrics.csv").read_text().splitlines())
    assert lines[0] == lines[1]
    assert lines[0][1:] == ["1,0.5,0.25,mode_collapse", "2,,0.125,"]


def test_log_rows_of_one_column_and_after_the_columns_widen(tmp_path):
    run_dir = RunDir.create(tmp_path, CFG, "narrow")
    run_dir.open_metrics(("step", "flags"))
    sink = RunDirSink(run_dir, ("step",))
    sink.log_rows([(1, {"step": 1.0}, [])])
    sink.columns = ("step", "mine")  # as `TrackedRun._set_columns` widens it (the file aside)
    sink.log_rows([(2, {"step": 2.0, "mine": 3.5}, [])])
    run_dir.close()
    assert (run_dir.path / "metrics.csv").read_text().splitlines()[1:] == ["1,", "2,3.5,"]


class _Ops(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[str(func.overloadpacket.__name__)] += 1
        return func(*args, **(kwargs or {}))


def test_a_usual_step_adds_five_ops_and_no_sync(tmp_path, nets):
    """d_step: D's norms, the logits' copy, the numbers' copy; g_step: G's norms, its numbers' copy (the
    batch's work happens at its send, which this long commit_every holds off). No ``.item()`` (a
    ``_local_scalar_dense``): nothing waits on the device."""
    D, G = nets
    run = track.init("ops", root=tmp_path, commit_every=60.0)
    for _ in range(2):  # first calls (the clock, the parameters listed) out of the count
        fake, real_logits, fake_logits, d_loss = step_tensors(D, G)
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        run.g_step(g_backward(D, G, fake), g_params=G)
    fake, real_logits, fake_logits, d_loss = step_tensors(D, G)
    with _Ops() as ops:
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
    g_loss = g_backward(D, G, fake)
    with _Ops() as g_ops:
        run.g_step(g_loss, g_params=G)
    assert dict(ops.counts) == {"_foreach_norm": 1, "cat": 1, "stack": 1}
    assert dict(g_ops.counts) == {"_foreach_norm": 1, "stack": 1}
    run.finish()
