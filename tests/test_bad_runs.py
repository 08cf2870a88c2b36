"""One bad run folder never takes a page down (issue 10).

Every test starts from the same runs folder: ``good``, a finished 2D run, and ``pics``, a finished image
run. Each case adds ``bad``, a copy of ``good`` with one thing broken, and runs every page through
`AppTest`: no page raises, the good run is still listed and viewable, the bad one is listed (as
``unreadable`` with its reason, or with a warning that names the file and the field), viewing it changes
no byte anywhere, and Delete removes it (a symlink loses only the link). A property test writes random
bytes into each run file in turn: the read layer raises nothing but the project's own errors, each
naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.registry import RegistryError, RunRegistry
from gan_core.rundir import RunDir, RunDirError, scan_runs, validate_run_id
from gan_core.runner import Runner
from tests.test_literal import shown
from ui.common import RUNS_ENV, registry

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: generous, the test machine is slow and shared
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu")
TITLES = {
    "dashboard.py": "Watch a GAN learn",
    "pages/1_Runs.py": "Runs",
    "pages/2_Compare.py": "Compare runs",
    "pages/3_Guide.py": "How to read the dashboard",
    "pages/4_Probe.py": "Probe the networks",
}
OUTSIDE = "is a symlink to a place outside the runs folder; it is never read"


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A runs folder trained once per module: ``good`` (ring8, snapshots every 5 steps, checkpoints at
    10 and 20) and ``pics`` (digits, PNG snapshots)."""
    root = tmp_path_factory.mktemp("template") / "runs"
    good = Runner(
        GANConfig(**TINY, dataset="ring8", steps=20, sample_every=5, checkpoint_every=10), root, "good"
    )
    pics = Runner(
        GANConfig(**TINY, dataset="digits", steps=4, sample_every=2, checkpoint_every=2), root, "pics"
    )
    for runner in (good.start(), pics.start()):
        assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    return root


@pytest.fixture
def runs_root(template, tmp_path, monkeypatch) -> Path:
    """A copy of the template as this test's runs folder (hence its own registry, the registry being
    cached per runs folder); ``good`` is byte for byte as it was at the end."""
    root = tmp_path / "runs"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.setenv(RUNS_ENV, str(root))
    before = fingerprint(root / "good")
    yield root
    assert not registry().active(), "a run started"
    assert fingerprint(root / "good") == before, "the good run was touched"


def fingerprint(*folders: Path) -> dict[str, str]:
    """Path -> SHA-256 of every file under ``folders``, links not followed (a link -> its target)."""
    found = {}
    for folder in folders:
        if folder.is_symlink():
            found[str(folder)] = f"-> {os.readlink(folder)}"
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                if path.is_symlink():
                    found[str(path)] = f"-> {os.readlink(path)}"
                elif path.is_file():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# ---------------------------------------------------------------------------------------------- the cases
def set_status(**fields) -> Callable[[Path, Path], None]:
    def damage(run: Path, outside: Path) -> None:
        status = json.loads((run / "status.json").read_text())
        (run / "status.json").write_text(json.dumps({**status, **fields}, indent=2))

    return damage


def extra_event_field(run: Path, outside: Path) -> None:
    with open(run / "events.csv", "a") as f:
        fields = '"{""field"":""lr_g"",""new"":0.001}"'
        f.write(f"7,2025-01-01T00:00:00.000+00:00,hparam,lr_g: 0.0002 -> 0.001,an extra field,{fields}\n")


def text_in_metrics(run: Path, outside: Path) -> None:
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    column = lines[0].rstrip("\n").split(",").index("d_loss")
    cells = lines[3].split(",")  # the third row
    cells[column] = "abc"
    lines[3] = ",".join(cells)
    (run / "metrics.csv").write_text("".join(lines))


def corrupt_npz(run: Path, outside: Path) -> None:
    (run / "samples" / "step_00000020.npz").write_bytes(np.random.default_rng(0).bytes(2048))


def folder_symlink(run: Path, outside: Path) -> None:
    shutil.move(run, outside / run.name)
    run.symlink_to(outside / run.name, target_is_directory=True)


def config_symlink(run: Path, outside: Path) -> None:
    shutil.copy(run / "config.json", outside / "config.json")
    (run / "config.json").unlink()
    (run / "config.json").symlink_to(outside / "config.json")


# name -> (what breaks ``bad``, how the pages show it: "unreadable" or "warning", what the message says)
CASES = {
    "flags_not_a_list": (
        set_status(flags="d_overpowers"),
        "warning",
        ["status.json: field 'flags' is the text 'd_overpowers'; expected a list of flag names"],
    ),
    "step_null": (
        set_status(step=None),
        "warning",
        ["status.json: field 'step' is null; expected an integer ≥ 0"],
    ),
    "flag_of_another_version": (
        set_status(flags=["from_a_newer_version"], flags_raised=["d_overpowers", "from_a_newer_version"]),
        "warning",
        ["status.json: field 'flags' names the text 'from_a_newer_version', a flag this version does not"],
    ),
    "events_row_with_an_extra_field": (
        extra_event_field,
        "warning",
        ["events.csv: 1 row with more than 5 fields: the extra ones are kept in its detail (the first at"],
    ),
    "text_in_metrics": (
        text_in_metrics,
        "warning",
        ["metrics.csv: column 'd_loss' has the text 'abc' at row 3, not a number; shown as a gap"],
    ),
    "corrupt_npz": (
        corrupt_npz,
        "snapshot",
        [
            "Snapshot unreadable: samples/step_00000020.npz of run 'bad' is not a readable .npz snapshot "
            "written by this tool (no .npz (zip) header); allowed a .npz of numeric arrays, as this tool "
            "writes them; no pickled objects"
        ],
    ),
    "folder_symlink_out_of_the_runs_folder": (folder_symlink, "unreadable", [f"run 'bad' {OUTSIDE}"]),
    "config_symlink_out_of_the_runs_folder": (
        config_symlink,
        "unreadable",
        ["run 'bad' has a config.json that " + OUTSIDE],
    ),
}


def app(page: str, run: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / page), default_timeout=TIMEOUT)
    if run is not None:
        at.query_params["run"] = run
    return at.run()


def still_up(at: AppTest, page: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [TITLES[page]]


def messages(at: AppTest, kind: str) -> list[str]:
    """The page's messages of one kind (error, warning, caption, ...), as a reader sees them."""
    return [shown(m.value) for m in getattr(at, kind)]


def says(found: list[str], needles: list[str]) -> bool:
    return all(any(needle in message for message in found) for needle in needles)


@pytest.mark.parametrize("case", CASES)
def test_a_bad_run_is_listed_and_every_page_stays_up(runs_root, tmp_path, case):
    damage, shown_as, needles = CASES[case]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copytree(runs_root / "good", runs_root / "bad")
    damage(runs_root / "bad", outside)
    before = fingerprint(runs_root, outside)

    # Train view, on the bad run and then on the good one
    at = app("dashboard.py", run="bad")
    still_up(at, "dashboard.py")
    if shown_as == "unreadable":
        assert messages(at, "error") == [f"Run 'bad' cannot be shown: {needles[0]}"]
    else:
        assert says(messages(at, "warning"), needles), messages(at, "warning")
        assert not at.error
    at = app("dashboard.py", run="good")
    still_up(at, "dashboard.py")
    assert not at.error and not at.warning and "chart_samples" in str(at.get("bidi_component"))

    # Runs: both listed; the bad one opened shows why; the good one opens
    at = app("pages/1_Runs.py")
    still_up(at, "pages/1_Runs.py")
    table = at.dataframe[0].value.set_index("run_id")
    assert sorted(table.index) == ["bad", "good", "pics"]
    assert table.loc["good", "status"] == "finished" and table.loc["good", "problems"] == ""
    if shown_as == "unreadable":
        assert table.loc["bad", "status"] == "unreadable" and table.loc["bad", "error"] == needles[0]
    elif needles[0].startswith("status.json"):
        assert says([table.loc["bad", "problems"]], needles)
    at.selectbox(key="runs_pick").set_value("bad").run()
    still_up(at, "pages/1_Runs.py")
    if shown_as == "unreadable":
        assert messages(at, "error") == [f"Run 'bad' cannot be opened: {needles[0]}"]
    elif shown_as == "warning":
        assert says(messages(at, "warning"), needles) and not at.error
    at.selectbox(key="runs_pick").set_value("good").run()
    still_up(at, "pages/1_Runs.py")
    assert not at.error and not at.warning and at.button(key="runs_open")

    # Compare: an unreadable run is left out with a note; a readable one is compared, with its warnings
    at = app("pages/2_Compare.py")
    still_up(at, "pages/2_Compare.py")
    choices = at.multiselect(key="cmp_runs").options
    if shown_as == "unreadable":
        assert "bad" not in choices and "good" in choices
        assert says(messages(at, "caption"), ["Left out, as they cannot be read: bad (see the Runs page)."])
    else:
        at.multiselect(key="cmp_runs").set_value(["good", "bad"]).run()
        still_up(at, "pages/2_Compare.py")
        # the four metric charts (the samples below them are one chart per readable snapshot)
        assert not at.error and sum("cmp_chart_" in str(c) for c in at.get("bidi_component")) == 4
        if shown_as == "warning":
            assert says(messages(at, "warning"), [f"bad: {needle}" for needle in needles])

    # Probe: the same, and the good run's weights can still be probed
    at = app("pages/4_Probe.py")
    still_up(at, "pages/4_Probe.py")
    if shown_as == "unreadable":
        assert "bad" not in at.selectbox(key="probe_run").options
    else:
        at.selectbox(key="probe_run").set_value("bad").run()
        still_up(at, "pages/4_Probe.py")
        assert not at.error
        if shown_as == "warning":
            assert says(messages(at, "warning"), needles)
    at.selectbox(key="probe_run").set_value("good").run()
    still_up(at, "pages/4_Probe.py")
    assert not at.error and not at.warning and len(at.get("bidi_component")) >= 1  # (its charts: live_chart)

    still_up(app("pages/3_Guide.py"), "pages/3_Guide.py")
    assert fingerprint(runs_root, outside) == before, "viewing a run changed a file"

    # Delete removes the bad run, and only it: a symlink loses the link, never what it points to
    at = app("pages/1_Runs.py")
    at.selectbox(key="runs_pick").set_value("bad").run()
    at.button(key="runs_delete").click().run()
    still_up(at, "pages/1_Runs.py")
    assert messages(at, "success") == ["Deleted run bad."]
    assert not os.path.lexists(runs_root / "bad")
    assert sorted(at.dataframe[0].value["run_id"]) == ["good", "pics"]
    assert fingerprint(outside) == {k: v for k, v in before.items() if k.startswith(str(outside))}


def test_a_symlink_to_another_run_is_never_read_through_and_delete_keeps_that_run(runs_root):
    (runs_root / "alias").symlink_to(runs_root / "good", target_is_directory=True)
    reason = "is a symlink (to 'good' in the runs folder); a run is a folder of its own"
    (row,) = [r for r in registry().summaries(unreadable=True) if r["run_id"] == "alias"]
    assert row["status"] == "unreadable" and reason in row["error"]
    with pytest.raises(RunDirError, match=r"run 'alias' is a symlink \(to 'good'"):
        registry().view("alias")
    registry().delete("alias")
    assert not os.path.lexists(runs_root / "alias") and (runs_root / "good" / "config.json").is_file()


def test_run_ids_are_ascii_and_have_no_trailing_newline(runs_root):
    for bad in ("abc\n", "run\n", "é", "ring8\r", "a b"):
        with pytest.raises(RunDirError, match="use 1-100 ASCII letters, digits"):
            validate_run_id(bad)
    (runs_root / "trailing\n").mkdir()
    (runs_root / "trailing\n" / "config.json").write_text((runs_root / "good" / "config.json").read_text())
    assert "trailing\n" not in [run.run_id for run in scan_runs(runs_root)]


# ---------------------------------------------------------------------------------------------- random bytes
RUN_FILES = [
    ("good", "config.json"),
    ("good", "status.json"),
    ("good", "metrics.csv"),
    ("good", "events.csv"),
    ("good", "samples/step_00000020.npz"),
    ("good", "samples/real.npz"),
    ("pics", "samples/step_00000004.png"),
    ("pics", "samples/real.png"),
    ("good", "checkpoints/step_00000020.pt"),
]


def damage_file(path: Path, how: str, data: bytes, where: float) -> None:
    """Random ``data`` as the whole file, over part of it at ``where`` (a fraction), or the file cut
    there."""
    old = path.read_bytes()
    at = int(where * len(old))
    new = {"replace": data, "overwrite": old[:at] + data + old[at + len(data) :], "truncate": old[:at]}[how]
    path.write_bytes(new)


def read_everything(root: Path, run_id: str) -> list[Exception]:
    """What a page reads of ``run_id`` through the registry; returns the errors the read layer raised
    (each a project error: anything else fails the test)."""
    raised: list[Exception] = []
    reg = RunRegistry(root)
    rows = reg.summaries(unreadable=True)
    assert run_id in [r["run_id"] for r in rows]
    try:
        view = reg.view(run_id)
    except (RunDirError, RegistryError) as exc:
        return [exc]
    _ = (view.status, view.flags, view.parent, view.parent_step, view.error, view.device, view.current_step)
    _ = (view.hparams, view.events, view.problems, view.store.view(300), view.real_view())
    for step in view.snapshot_steps():
        try:
            view.snapshot(step)
        except RunDirError as exc:
            raised.append(exc)
    for _, path in view.run_dir.checkpoints():
        try:
            view.run_dir.load_checkpoint(path)
        except RunDirError as exc:
            raised.append(exc)
    return raised


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(RUN_FILES),
    how=st.sampled_from(["replace", "overwrite", "truncate"]),
    data=st.binary(min_size=1, max_size=64),
    where=st.floats(0.0, 1.0),
)
def test_random_bytes_in_any_run_file_raise_only_errors_that_name_it(
    template, tmp_path_factory, target, how, data, where
):
    root = tmp_path_factory.mktemp("fuzz") / "runs"
    shutil.copytree(template, root)
    run_id, name = target
    damage_file(root / run_id / name, how, data, where)
    for exc in read_everything(root, run_id):
        assert Path(name).name in str(exc), f"{exc} does not name {name}"
    shutil.rmtree(root.parent)


def test_random_bytes_in_each_run_file_through_the_pages(runs_root):
    """Fixed examples of the property above, through the Runs page and the Train view."""
    rng = np.random.default_rng(10)
    damaged = []
    for i, (run_id, name) in enumerate(RUN_FILES):
        copy = runs_root / f"damaged-{i}"
        shutil.copytree(runs_root / run_id, copy)
        damage_file(copy / name, ["replace", "overwrite", "truncate"][i % 3], rng.bytes(48), 0.5)
        damaged.append(copy.name)
    at = app("pages/1_Runs.py")
    still_up(at, "pages/1_Runs.py")
    assert set(damaged) <= set(at.dataframe[0].value["run_id"])
    for run_id in damaged:
        at.selectbox(key="runs_pick").set_value(run_id).run()
        still_up(at, "pages/1_Runs.py")
        train = app("dashboard.py", run=run_id)
        still_up(train, "dashboard.py")
    assert RunDir.open(runs_root, "good").read_config() == RunDir.open(runs_root, "damaged-8").read_config()
