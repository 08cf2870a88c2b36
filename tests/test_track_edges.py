"""Edges of the tracking API (`gan_core.track`) a review found: a divergence's message naming only the
columns the step measured, the loss halves of an objective the tracker does not know, a runs folder that
cannot be made, ``sys.exit`` inside ``with run:``, the messages of a misplaced metric name, a G that
cannot take the snapshot's noise and a D that returns a tuple, and a second Ctrl-C during `finish`'s
status write."""

from __future__ import annotations

import csv
import json

import torch

import gan_core.track as track


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
