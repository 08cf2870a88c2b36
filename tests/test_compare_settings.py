"""Compare's settings tables and hyperparameter charts: a setting that differs between the runs that have
it is listed as differing (not hidden among those some runs lack); a user's own run shows what it trained
with (its optimizers' lr, the counts given to `gan_core.track.init`) over the config it was given, which
stays in view as ``config.<field>`` where it says otherwise; a hyperparameter's chart is never smoothed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import charts, track
from gan_core.config import GANConfig
from gan_core.registry import ABSENT, SUMMARY_SETTINGS, RunRegistry, settings_tables, summary_settings
from gan_core.runner import Runner

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=6, checkpoint_every=0)


def finished(root: Path, run_id: str, **overrides) -> None:
    runner = Runner(GANConfig(**{**TINY, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"


def tracked(root: Path, run_id: str, *, lr_g: float = 1e-3, lr_d: float = 5e-4, steps_taken: int = 3, **init):
    """A user's own loop of ``steps_taken`` steps whose optimizers run at ``lr_g`` / ``lr_d``."""
    G, D = torch.nn.Linear(4, 2), torch.nn.Linear(2, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    with track.init(run_id, root=root, loss="nonsaturating", opt_d=opt_d, opt_g=opt_g, **init) as run:
        for _ in range(steps_taken):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))


def compare(runs: list[str]) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value(runs).run()
    assert not at.exception and not at.error
    return at


def tables(at: AppTest) -> dict[str, pd.DataFrame]:
    """The page's two settings tables, when it shows both (no lineage: none of these runs is a branch)."""
    assert (
        len(at.dataframe) == 3 and len(at.expander) == 1
    )  # the summary, the differing ones, the partial in the expander
    return {"cmp_diff": at.dataframe[1].value, "cmp_partial": at.expander[0].dataframe[0].value}


# ----------------------------------------------------------------------- settings that differ


def test_a_setting_two_runs_differ_on_is_listed_though_a_third_lacks_it(runs_root):
    finished(runs_root, "b64", batch_size=64)
    finished(runs_root, "b128", batch_size=128)
    tracked(runs_root, "mine")
    registry = RunRegistry(runs_root)
    views = {run_id: registry.view(run_id) for run_id in ("b64", "b128", "mine")}
    differ, partial = settings_tables(views)
    assert differ.loc["batch_size"].to_dict() == {"b64": "64", "b128": "128", "mine": ABSENT}
    assert "batch_size" not in partial.index
    # the same wherever present, and some run lacks it: only some have it
    assert partial.loc["gp_weight"].to_dict() == {"b64": "10.0", "b128": "10.0", "mine": ABSENT}
    assert partial.loc["(model)"].to_dict() == {"b64": "mlp", "b128": "mlp", "mine": ABSENT}
    # every run has it, one value: in neither; every run has it, values differ: differs
    assert "beta1" not in differ.index and "beta1" not in partial.index
    assert differ.loc["lr_d"].to_dict() == {"b64": "0.0002", "b128": "0.0002", "mine": "0.0005"}
    assert set(differ.index).isdisjoint(partial.index)
    # two runs alone: batch_size is still a difference, the tracked run's fields only the other's
    differ, partial = settings_tables({k: views[k] for k in ("b128", "mine")})
    assert "batch_size" in partial.index and "batch_size" not in differ.index


def test_the_summary_shows_the_first_settings_that_differ_beside_each_run():
    """A sweep reviewer could not tell which setting won: the summary had no lr_d, lr_g or seed, and the
    settings table, runs as columns, sat under every chart."""
    fields = ["(status)", "(source)", "(loss)", "(model)", "lr_d", "steps", "eval_every", "lr_g", "seed"]
    fields += ["beta1", "beta2", "batch_size", "d_steps", "width"]
    index = pd.Index(fields, name="field")
    differing = pd.DataFrame({"a": [f"{f}-a" for f in fields], "b": [f"{f}-b" for f in fields]}, index=index)
    shown = summary_settings(differing, skip=["run", "source", "loss", "dataset"])
    # (status) and the summary's own columns left out, those that shape training first (the seed before
    # eval_every), then the first SUMMARY_SETTINGS
    assert SUMMARY_SETTINGS == 8
    assert shown.columns.tolist() == [
        "model",  # the fact by its bare name: "(model)" read as a note (a newcomer's review)
        "lr_d",
        "lr_g",
        "seed",
        "beta1",
        "beta2",
        "batch_size",
        "d_steps",
    ]
    assert shown.index.tolist() == ["a", "b"] and shown.loc["b", "seed"] == "seed-b"
    bookkeeping = summary_settings(differing, most=len(fields))
    assert bookkeeping.columns.tolist()[-2:] == ["steps", "eval_every"]
    assert summary_settings(differing, most=0).empty and summary_settings(differing.iloc[0:0]).empty
    # a loop's own setting named as a summary column: shown, named apart from it
    own = pd.DataFrame({"a": ["x", "1"], "b": ["y", "2"]}, index=pd.Index(["quality", "seed"], name="field"))
    assert summary_settings(own, skip=["run", "quality"]).columns.tolist() == ["quality (setting)", "seed"]
    # a loop's own "model" setting beside the run's fact: the fact keeps its parentheses
    both = pd.DataFrame({"a": ["mlp", "G1"], "b": ["dcgan", "G2"]}, index=pd.Index(["(model)", "model"]))
    assert summary_settings(both, skip=["run"]).columns.tolist() == ["(model)", "model"]
    # ... shown or not: a loop's "model" setting past the first SUMMARY_SETTINGS (a review)
    fields = ["(model)", *(f"s{i}" for i in range(SUMMARY_SETTINGS)), "model"]
    late = pd.DataFrame({"a": ["mlp"] * len(fields), "b": ["x"] * len(fields)}, index=pd.Index(fields))
    assert summary_settings(late, skip=["run"]).columns.tolist()[0] == "(model)"
    with pytest.raises(ValueError, match="most must be 0 or more, got -1"):
        summary_settings(differing, most=-1)


def test_the_page_lists_the_difference_with_a_dash_for_the_run_without_it(runs_root):
    finished(runs_root, "b64", batch_size=64)
    finished(runs_root, "b128", batch_size=128)
    tracked(runs_root, "mine")
    at = compare(["b64", "b128", "mine"])
    found = tables(at)
    assert found["cmp_diff"].loc["batch_size"].to_dict() == {"b64": "64", "b128": "128", "mine": ABSENT}
    assert "batch_size" not in found["cmp_partial"].index
    assert any("differs between the runs that have it" in c.value for c in at.caption)


def test_a_value_that_is_the_dash_itself_still_differs_from_the_others(runs_root):
    tracked(runs_root, "dash", config={"note": ABSENT})
    tracked(runs_root, "text", config={"note": "x"})
    tracked(runs_root, "none")
    registry = RunRegistry(runs_root)
    differ, partial = settings_tables({r: registry.view(r) for r in ("dash", "text", "none")})
    assert differ.loc["note"].to_dict() == {"dash": ABSENT, "text": "x", "none": ABSENT}
    differ, partial = settings_tables({r: registry.view(r) for r in ("dash", "none")})
    assert partial.loc["note"].to_dict() == {"dash": ABSENT, "none": ABSENT} and "note" not in differ.index


# ------------------------------------------------------------ recorded over the config it was given


def test_the_lr_the_optimizer_ran_at_wins_and_the_config_one_is_shown_beside_it(runs_root):
    tracked(runs_root, "mine", lr_g=1e-3, lr_d=5e-4, config={"lr_g": 2e-3, "lr_d": 0.0005, "lr": 3e-4})
    settings = RunRegistry(runs_root).view("mine").settings()
    assert settings["lr_g"] == 1e-3 and settings["config.lr_g"] == 2e-3  # the optimizer's, then the config's
    assert settings["lr_d"] == 5e-4 and "config.lr_d" not in settings  # said alike: one row
    assert settings["lr"] == 3e-4 and "config.lr" not in settings  # nothing recorded under that name
    assert list(settings).index("lr_g") < list(settings).index("config.lr_g")


def test_a_scheduled_lr_is_the_last_steps(runs_root):
    G, D = torch.nn.Linear(4, 2), torch.nn.Linear(2, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    with track.init("decayed", root=runs_root, config={"lr_g": 1e-3}, opt_d=opt_d, opt_g=opt_g) as run:
        for step in range(4):
            if step == 2:
                opt_g.param_groups[0]["lr"] = 2.5e-4
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    settings = RunRegistry(runs_root).view("decayed").settings()
    assert settings["lr_g"] == 2.5e-4 and settings["config.lr_g"] == 1e-3


def test_a_true_in_the_config_is_not_the_count_one(runs_root):
    tracked(runs_root, "mine", config={"d_steps": True})
    settings = RunRegistry(runs_root).view("mine").settings()
    assert settings["d_steps"] == 1 and settings["config.d_steps"] is True


def test_the_page_shows_the_recorded_lr_against_a_built_in_run(runs_root):
    finished(runs_root, "built", lr_g=1e-3)
    tracked(runs_root, "mine", lr_g=1e-3, lr_d=2e-4, config={"lr_g": 2e-3}, steps=6)
    found = tables(compare(["built", "mine"]))
    differ = found["cmp_diff"]
    assert "lr_g" not in differ.index  # both ran at 1e-3
    assert found["cmp_partial"].loc["config.lr_g"].to_dict() == {"built": ABSENT, "mine": "0.002"}


# ------------------------------------------------------------------ the counts given to init


def test_steps_sample_every_eval_every_and_seed_are_shown_where_recorded(runs_root):
    tracked(runs_root, "mine", steps=3, sample_every=2, eval_every=3, seed=7, config={"steps": 10_000})
    status = json.loads((runs_root / "mine" / "status.json").read_text())
    assert (status["steps"], status["sample_every"], status["eval_every"], status["seed"]) == (3, 2, 3, 7)
    view = RunRegistry(runs_root).view("mine")
    assert not view.problems
    settings = view.settings()
    assert {k: settings[k] for k in ("steps", "sample_every", "eval_every", "seed")} == {
        "steps": 3,
        "sample_every": 2,
        "eval_every": 3,
        "seed": 7,
    }
    assert settings["config.steps"] == 10_000  # what the config said, beside the target it was given

    finished(runs_root, "built", steps=6, sample_every=2, eval_every=500, seed=7)
    differ, partial = settings_tables({r: RunRegistry(runs_root).view(r) for r in ("built", "mine")})
    assert differ.loc["steps"].to_dict() == {"built": "6", "mine": "3"}
    assert differ.loc["eval_every"].to_dict() == {"built": "500", "mine": "3"}
    assert "sample_every" not in differ.index and "seed" not in differ.index  # the same: not listed
    assert "sample_every" not in partial.index and "seed" not in partial.index


def test_a_run_that_did_not_record_them_shows_none_and_a_bad_one_is_named(runs_root):
    tracked(runs_root, "old", steps=3, sample_every=2)
    path = runs_root / "old" / "status.json"
    status = json.loads(path.read_text())
    for name in ("sample_every", "eval_every", "seed"):  # as a run written before they were recorded
        del status[name]
    path.write_text(json.dumps(status))
    settings = RunRegistry(runs_root).view("old").settings()
    assert settings["steps"] == 3
    assert not {"sample_every", "eval_every", "seed"} & set(settings)  # unknown: none made up

    status.update(sample_every=0, seed="7")
    path.write_text(json.dumps(status))
    view = RunRegistry(runs_root).view("old")
    assert "sample_every" not in view.settings() and "seed" not in view.settings()
    assert any("'sample_every' is 0" in p for p in view.problems)
    assert any("'seed'" in p and "2**31-1" in p for p in view.problems)


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


def test_a_hyperparameter_downsampled_is_drawn_at_values_it_had():
    """3,000 steps drawn as 600 points: the point over which lr_g changed (2e-4 to 1e-4 at step 1503,
    back to 3e-4 at 2400) would be the mean of its rows, a rate the run never had; each drawn value is
    one it had, the change drawn at most one point late."""
    from gan_core.store import MetricStore
    from gan_core.tracking.schema import RECORD_COLUMNS
    from tests.test_charts import record_rows

    rows = record_rows(3_000)
    lr = np.where(rows[:, 0] < 1503, 2e-4, np.where(rows[:, 0] < 2400, 1e-4, 3e-4))
    rows[:, RECORD_COLUMNS.index("lr_g")] = lr
    store = MetricStore(RECORD_COLUMNS, capacity=1024)
    store.extend(rows)
    view = store.view(600, nonfinite=True)
    assert len(view) <= 600 and (view["lr_g_min"] != view["lr_g_max"]).sum() == 2  # two mixed points
    fig = charts.compare_figure({"run": charts.compare_view(store, "lr_g", view)}, "lr_g")
    (line,) = [t for t in fig["data"] if t.get("name") == "run"]
    x, y = np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float)
    assert set(y.astype(np.float32)) == set(np.float32([2e-4, 1e-4, 3e-4]))  # no mean of two rates
    bucket = float(view["rows"].max())
    first_low, first_high = x[np.isclose(y, 1e-4)].min(), x[np.isclose(y, 3e-4)].min()
    assert 1503 <= first_low < 1503 + bucket and 2400 <= first_high < 2400 + bucket
    # a rate that changes on every step (a scheduler) is left as its points' means
    rows[:, RECORD_COLUMNS.index("lr_g")] = np.linspace(1e-3, 1e-4, 3_000)
    cosine = MetricStore(RECORD_COLUMNS, capacity=1024)
    cosine.extend(rows)
    view = cosine.view(600, nonfinite=True)
    fig = charts.compare_figure({"run": view}, "lr_g")
    (line,) = [t for t in fig["data"] if t.get("name") == "run"]
    np.testing.assert_allclose(np.asarray(line["y"], dtype=float), view["lr_g"].to_numpy(), rtol=1e-6)


def test_long_floats_are_shown_to_six_digits_where_that_still_tells_the_runs_apart():
    """A scheduler's learning rate read back as 0.0018823529411764706 filled the column: shown 0.00188235;
    two values that agree to 6 digits keep their whole text (else the row would show one value twice)."""

    class View:
        def __init__(self, settings):
            self.status, self._settings = "finished", settings

        def settings(self):
            return self._settings

    a = View({"lr_g": 0.0018823529411764706, "beta2": 0.9905854573074332, "tiny": 0.1, "w": 10.0})
    b = View({"lr_g": 0.002, "beta2": 0.99, "tiny": 0.1000000001, "w": 12.0})
    differ, _ = settings_tables({"a": a, "b": b})
    assert differ.loc["lr_g"].tolist() == ["0.00188235", "0.002"]
    assert differ.loc["beta2"].tolist() == ["0.990585", "0.99"]
    assert differ.loc["tiny"].tolist() == ["0.1", "0.1000000001"]
    assert differ.loc["w"].tolist() == ["10.0", "12.0"]
