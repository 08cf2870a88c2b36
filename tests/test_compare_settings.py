"""Compare's settings tables and hyperparameter charts: a hyperparameter's chart is never smoothed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_core import charts

# ---------------------------------------------------------------- hyperparameters are not smoothed


def test_a_hyperparameter_is_drawn_as_steps_never_smoothed():
    step = np.arange(1, 21)
    lr = np.where(step <= 10, 1e-3, 1e-4)
    frame = pd.DataFrame({"step": step, "lr_g": lr, "d_loss": np.linspace(1.0, 0.0, 20)})
    fig = charts.compare_figure({"run": frame}, "lr_g", smoothing=0.9)
    lines = [t for t in fig["data"] if t.get("name") in ("run", "run (raw)")]
    assert [t["name"] for t in lines] == ["run"]  # no faint raw line: nothing was smoothed
    np.testing.assert_allclose(np.asarray(lines[0]["y"], dtype=float), lr, rtol=1e-6)
    assert lines[0]["line"]["shape"] == "hv"  # each value held until the step that changed it
    # a metric of the run's steps is still smoothed, as a line
    fig = charts.compare_figure({"run": frame}, "d_loss", smoothing=0.9)
    lines = [t for t in fig["data"] if t.get("name") in ("run", "run (raw)")]
    assert [t["name"] for t in lines] == ["run (raw)", "run"]
    assert "shape" not in lines[1]["line"]
    np.testing.assert_allclose(
        np.asarray(lines[1]["y"], dtype=float), charts.smooth(frame["d_loss"].to_numpy(), 0.9), rtol=1e-6
    )
