"""Damaged run files found by review: each gets one clear message naming the file and the field, the
listing and the views stay up, and a resume refused for one writes nothing.

Every test copies ``good``, a finished 2D run made once per session by the project's own writer (a
`Runner`: checkpoints at steps 10 and 20), breaks one thing in the copy and checks what a reader or a
resume makes of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch

from gan_core.config import GANConfig
from gan_core.probe import checkpoint_models
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir, RunDirError
from gan_core.runner import Runner
from gan_core.tracking.schema import CSV_COLUMNS

TIMEOUT = 60  # seconds: generous, the test machine is slow and shared
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu")
TOO_LONG = "1" + "0" * 5000  # an integer literal Python 3.11's json refuses (over 4300 digits)


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """A runs folder holding ``good``: ring8, 20 steps, snapshots every 5, checkpoints at 10 and 20."""
    root = tmp_path_factory.mktemp("damaged_template") / "runs"
    cfg = GANConfig(**TINY, dataset="ring8", steps=20, sample_every=5, checkpoint_every=10, eval_every=10)
    runner = Runner(cfg, root, "good").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    return root


@pytest.fixture
def root(template, tmp_path) -> Path:
    """This test's own copy of the template's runs folder."""
    copy = tmp_path / "runs"
    shutil.copytree(template, copy)
    return copy


def fingerprint(folder: Path) -> dict[str, str]:
    """Path -> SHA-256 of every file under ``folder`` but the claim's lock file (a claim and its release
    may create it, empty)."""
    return {
        str(Path(d, name).relative_to(folder)): hashlib.sha256(Path(d, name).read_bytes()).hexdigest()
        for d, _, names in os.walk(folder)
        for name in names
        if name != ".lock"
    }


def edit_status(run: Path, **fields) -> None:
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, **fields}, indent=2))


def edit_checkpoint(run: Path, at: int, **parts) -> None:
    """Rewrite ``parts`` of the checkpoint of step ``at`` (kept under the same name)."""
    path = run / "checkpoints" / f"step_{at:08d}.pt"
    state = torch.load(path, weights_only=True)
    torch.save({**state, **parts}, path)


def edit_metrics_header(run: Path, header: bytes) -> None:
    data = (run / "metrics.csv").read_bytes()
    (run / "metrics.csv").write_bytes(header + data[data.index(b"\n") :])


def summary(root: Path, run_id: str = "good") -> dict:
    (row,) = [r for r in RunRegistry(root).summaries(unreadable=True) if r["run_id"] == run_id]
    return row


def refused_resume(root: Path, run_id: str = "good") -> str:
    """The message of the resume of ``run_id`` refused, checking that it wrote nothing."""
    before = fingerprint(root / run_id)
    with pytest.raises(RunDirError) as refused:
        Runner.reopen(RunDir.open(root, run_id), {"steps": 40})
    assert fingerprint(root / run_id) == before, "a refused resume changed the run's files"
    assert RunDir.open(root, run_id).read_status()["status"] == "finished"
    return str(refused.value)


# ---------------------------------------------------------------------------------------------- 1. json
def test_garbage_in_status_json_is_said_with_where_json_stopped_once(root):
    """A control character in status.json was "Invalid control character at at line 1": json's own message
    ends in "at"."""
    (root / "good" / "status.json").write_text('{"status": "run\nning"}')
    status, problems = RunDir.open(root, "good").read_status_checked()
    assert status == {}
    assert problems == ["status.json is not valid JSON (Invalid control character at line 1, column 16)"]
    (root / "good" / "status.json").write_text('{"status": ')
    assert RunDir.open(root, "good").read_status_checked()[1] == [
        "status.json is not valid JSON (Expecting value at line 1, column 12)"
    ]


def test_a_run_resumed_past_a_damaged_status_json_keeps_when_it_was_created(root):
    """Its created time went with the damaged file, for good: `runs` showed "-" and listed it last."""
    made = os.stat(root / "good" / "config.json").st_mtime
    (root / "good" / "status.json").write_text("{not json")
    runner = Runner.reopen(RunDir.open(root, "good"), {"steps": 24}).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    created = RunDir.open(root, "good").read_status()["created"]
    assert abs(dt.datetime.fromisoformat(created).timestamp() - made) <= 0.002  # (to the millisecond)
    row = next(r for r in RunRegistry(root).summaries() if r["run_id"] == "good")
    assert row["created"] == created


def test_a_number_json_will_not_read_is_a_damaged_file_named(root):
    run = root / "good"
    status = (run / "status.json").read_text()
    (run / "status.json").write_text(status.replace('"step": 20', f'"step": {TOO_LONG}'))
    with open(run / "events.csv", "a") as f:
        f.write(f'20,2025-01-01T00:00:00.000+00:00,hparam,x,"{{""field"":""lr_g"",""new"":{TOO_LONG}}}"\n')

    status, problems = RunDir.open(root, "good").read_status_checked()
    assert status == {}
    assert problems == [
        "status.json is not JSON this version reads (a number of more than 4300 digits; allowed: up to 4300)"
    ]
    row = summary(root)
    assert row["status"] == "unknown"  # and the listing says what the Train view says of events.csv
    assert row["problems"].startswith(f"{problems[0]}; events.csv: 1 row whose fields are not a JSON object")
    events, problems = RunDir.open(root, "good").read_events_checked()
    assert len(problems) == 1 and problems[0].startswith(
        "events.csv: 1 row whose fields are not a JSON object: read without them (the first at line "
    )
    assert events["fields"].iloc[-1] == {}
    view = RunRegistry(root).view("good")
    assert any(p.startswith("events.csv: 1 row whose fields are not a JSON object") for p in view.problems)

    config = (run / "config.json").read_text()
    (run / "config.json").write_text(config.replace('"seed": 0', f'"seed": {TOO_LONG}'))
    with pytest.raises(RunDirError, match=r"run 'good': unreadable config.json: not JSON this version reads"):
        RunDir.open(root, "good").read_config()


# ---------------------------------------------------------------------------------------------- 2. range
@pytest.mark.parametrize("field", ["step", "steps", "parent_step"])
def test_a_step_beyond_the_configs_bound_is_a_problem_with_that_field(root, field):
    run = root / "good"
    edit_status(run, **{field: 10**25}, parent="good" if field == "parent_step" else None)
    status, problems = RunDir.open(root, "good").read_status_checked()
    assert field not in status
    assert problems == [
        f"status.json: field {field!r} is {10**25}; expected an integer ≥ 0, at most 1000000000"
        + (" or null" if field == "parent_step" else "")
    ]
    row = summary(root)
    assert row["problems"] == problems[0]
    # the Runs page's table: every number fits a C long
    table = pd.DataFrame([row])[["step", "steps", "parent_step"]]
    # (a step left out is the one its rows reach; a target left out is the config's)
    assert table.fillna(0).astype("int64").iloc[0].tolist() == [20, 20, 0]


# ---------------------------------------------------------------------------------------------- 3. events
def test_an_hparam_event_whose_field_is_not_text_is_skipped_and_reported(root):
    with open(root / "good" / "events.csv", "a") as f:
        f.write('20,t,hparam,x,"{""field"":[""lr_g""],""new"":0.5}"\n')
        f.write('20,t,hparam,x,"{""field"":{""a"":1},""new"":0.5}"\n')
    view = RunRegistry(root).view("good")
    assert view.hparams["lr_g"] == pytest.approx(2e-4, rel=1e-9, abs=0)  # the config's, not 0.5
    (problem,) = [p for p in view.problems if "'field'" in p]
    assert problem.startswith(
        "events.csv: 2 rows whose 'field' (the setting changed) is not a text: read without it (the first "
        "at line "
    )
    assert problem.endswith(", a list)")


# ---------------------------------------------------------------------------------------------- 4. step
def test_a_checkpoint_whose_step_disagrees_with_its_name_is_refused_before_anything_is_written(root):
    edit_checkpoint(root / "good", 20, step=5)
    edit_status(root / "good", status="stopped")
    before = fingerprint(root / "good")
    with pytest.raises(RunDirError) as refused:
        Runner.reopen(RunDir.open(root, "good"), {"steps": 40})
    assert str(refused.value) == (
        "checkpoint step_00000020.pt of run 'good' holds step 5, but its name says step 20; refused, as the "
        "run would go on from the wrong step (and drop what it recorded after step 5). Allowed: a "
        "checkpoint whose step is the one in its name; pick another; older kept checkpoints: steps 10"
    )
    assert fingerprint(root / "good") == before
    assert RunDir.open(root, "good").read_status()["status"] == "stopped"
    with pytest.raises(RunDirError, match="holds step 5, but its name says step 20"):
        Runner.branch(RunDir.open(root, "good"), 20)
    assert sorted(p.name for p in root.iterdir()) == ["good"]  # no branch folder left behind


# ---------------------------------------------------------------------------------------------- 5. \r
def test_a_carriage_return_inside_the_last_metrics_row_is_a_damaged_row(root):
    path = root / "good" / "metrics.csv"
    data = path.read_bytes()
    last = data.rindex(b"\n", 0, len(data) - 1) + 1  # the last row: step 20
    path.write_bytes(data[: last + 3] + b"\r" + data[last + 3 :])
    run = RunDir.open(root, "good")
    assert run.last_metrics_step() == 19  # the damaged row is no row a reader uses
    assert run.last_metrics()["step"] == 19
    assert summary(root)["status"] == "finished"
    frame, problems = run.read_metrics_checked()
    assert frame["step"].tolist() == list(range(1, 20))
    assert problems == [
        "metrics.csv: 1 row holding a carriage return (\\r) inside left out (the first at line 21)"
    ]
    assert refused_resume(root) == (
        "run 'good': metrics.csv line 21 holds a carriage return (\\r) inside a row; allowed: one row a "
        "line, each ending in a newline (\\n or \\r\\n)"
    )


# ---------------------------------------------------------------------------------------------- 6. dup
def test_a_metrics_header_naming_a_column_twice_is_refused_for_writing_and_reported(root):
    header = ",".join(CSV_COLUMNS).replace("d_loss_real", "d_loss").encode()
    edit_metrics_header(root / "good", header)
    message = "run 'good': metrics.csv's header names column 'd_loss' twice; allowed: each column once"
    assert refused_resume(root) == message
    run = RunDir.open(root, "good").claim("testing")
    try:
        before = fingerprint(root / "good")
        for write in (lambda: run.widen_metrics(CSV_COLUMNS), lambda: run.open_metrics(CSV_COLUMNS)):
            with pytest.raises(RunDirError) as refused:
                write()
            assert str(refused.value) == message
        assert fingerprint(root / "good") == before
    finally:
        run.release()
    frame, problems = RunDir.open(root, "good").read_metrics_checked()
    assert problems == ["metrics.csv: its header names column 'd_loss' twice; only the first is read"]
    assert "d_loss.1" not in frame.columns and frame["d_loss"].notna().all()


# ---------------------------------------------------------------------------------------------- 7. parts
CHECKPOINT_DAMAGE = {
    "opt_g": (
        {"opt_g": {"junk": 1}},
        "checkpoint step_00000020.pt of run 'good': its 'opt_g' cannot be loaded (KeyError: 'param_groups'); "
        "allowed: the Adam optimizer's state of its network, as this run saves it",
    ),
    "opt_d": (
        {"opt_d": {"junk": 1}},
        "checkpoint step_00000020.pt of run 'good': its 'opt_d' cannot be loaded",
    ),
    "flags": (
        {"flags": 5},
        "checkpoint step_00000020.pt of run 'good': its 'flags' cannot be loaded (TypeError: 5, not an "
        "object); allowed: the flag monitor's state (an object of its fields), as this run saves it",
    ),
    "flags_field": (
        {"flags": {"steps_seen": "many"}},
        "its 'flags' cannot be loaded (TypeError: field 'steps_seen' is the text 'many'; expected a number)",
    ),
    "snapshot_stride": ({"snapshot_stride": "x"}, "its 'snapshot_stride' cannot be loaded"),
    "hparams": ({"hparams": {"lr_g": "fast"}}, "its 'hparams' cannot be loaded (ConfigError: lr_g='fast'"),
    "rng": ({"torch_rng": torch.zeros(3)}, "its 'torch_rng' cannot be loaded"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_part_is_refused_before_the_resume_writes(root, case):
    parts, message = CHECKPOINT_DAMAGE[case]
    edit_checkpoint(root / "good", 20, **parts)
    assert message in refused_resume(root)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            ",".join(CSV_COLUMNS).replace("d_loss,", "d_loss,<b>x</b>,").encode(),
            "run 'good': metrics.csv has 1 column this run does not write ('<b>x</b>'); allowed: the columns "
            "it writes (step, time_s, d_loss, d_loss_real, d_loss_fake, … flags)",
        ),
    ],
    ids=["unknown_column"],
)
def test_a_metrics_header_the_resume_cannot_go_on_under_is_refused_before_it_writes(root, header, message):
    edit_metrics_header(root / "good", header)
    assert refused_resume(root) == message


def test_a_resume_refuses_a_checkpoint_whose_step_is_below_zero(root):
    edit_checkpoint(root / "good", 20, step=-3)
    assert refused_resume(root) == (
        "checkpoint step_00000020.pt of run 'good': its step is -3; allowed: a whole number ≥ 0; older kept "
        "checkpoints: steps 10"
    )


def test_a_sound_run_still_resumes(root):
    runner = Runner.reopen(RunDir.open(root, "good"), {"steps": 22}).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert RunDir.open(root, "good").last_metrics_step() == 22


# ---------------------------------------------------------------------------------------------- 8. probe
def test_the_probe_refuses_a_checkpoint_whose_step_is_no_number(root):
    edit_checkpoint(root / "good", 20, step="abc")
    run = RunDir.open(root, "good")
    with pytest.raises(RunDirError) as refused:  # the Probe page shows it as it shows a corrupt file
        checkpoint_models(run, run.latest_checkpoint())
    assert str(refused.value) == (
        "checkpoint step_00000020.pt of run 'good': its step is the text 'abc'; allowed: a whole number ≥ 0"
    )


# ---------------------------------------------------------------------------------------------- 9. kill
def test_an_interrupted_run_is_listed_at_its_last_recorded_row(root):
    # As a kill -9 leaves it: status.json written at step 7 saying running, rows up to step 20, no writer.
    edit_status(root / "good", status="running", step=7, pid=None)
    row = summary(root)
    assert row["status"] == "interrupted" and row["step"] == 20
    edit_status(root / "good", status="stopped")  # ended as it says: its own step stands
    assert summary(root)["step"] == 7


def test_sample_and_evaluate_refuse_a_checkpoint_whose_step_is_no_number(root, capsys):
    """The CLI's own checkpoint path: 'error: invalid literal for int() with base 10: 'abc'' named no file."""
    from gan_core.__main__ import main

    edit_checkpoint(root / "good", 20, step="abc")
    for argv in (["sample", "--run", str(root / "good"), "--out", str(root / "x.csv")],
                 ["evaluate", "--run", str(root / "good")]):  # fmt: skip
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            "error: checkpoint step_00000020.pt of run 'good': its step is the text 'abc'; "
            "allowed: a whole number ≥ 0; older kept checkpoints: steps 10; take one with --checkpoint "
            f"{root / 'good' / 'checkpoints' / 'step_00000010.pt'}\n"
        )
    assert not (root / "x.csv").exists()


# ---------------------------------------------------------------------------------------------- 10. long text
LONG = "x" * 5000  # a column name, or a whole header line, of 5,000 bytes
CUT = f"'{'x' * 99}…' (5,000 characters)"  # as every message quotes it (`gan_core.quoting.quoted`)


def test_a_metrics_header_of_5000_bytes_is_quoted_cut_short(root):
    # One column of 5,000 characters: the resume is refused naming it, cut short; nothing is written.
    edit_metrics_header(root / "good", ",".join(CSV_COLUMNS).replace("d_loss,", f"d_loss,{LONG},").encode())
    assert refused_resume(root) == (
        f"run 'good': metrics.csv has 1 column this run does not write ({CUT}); allowed: the columns it "
        "writes (step, time_s, d_loss, d_loss_real, d_loss_fake, … flags)"
    )
    # The views read the run with the column left out, saying so in one short line; the rows, one field
    # short of that header, would be read one column off: left out, and said.
    view = RunRegistry(root).view("good")
    assert view.problems[0].startswith(f"metrics.csv: column {CUT} left out: a metric's name is ASCII")
    assert view.problems[1].startswith(
        "metrics.csv: 20 rows with fewer fields than its header (cut short) left out: steps 1, 2, 3, 4, 5 "
        "and 15 more"
    )
    assert view.store.last_step is None
    # A header of 5,000 bytes without a 'step' column: unplaceable, the header cut short; the views read
    # the run as one without rows (its checkpoints are sound), a whole read (a resume's) refuses it.
    edit_metrics_header(root / "good", (LONG[:-1] + ",d_loss").encode())
    run = RunDir.open(root, "good")
    with pytest.raises(RunDirError) as refused:
        run.read_metrics(CSV_COLUMNS)
    said = f"metrics.csv has no 'step' column (its header: '{'x' * 99}…' (5,006 characters)); nothing in it"
    assert str(refused.value).startswith(f"run 'good': {said} can be placed, and rows written under it")
    view = RunRegistry(root).view("good")
    assert view.store.last_step is None and view.checkpoint_steps() == [10, 20]
    assert view.problems[0].startswith(said)


# ---------------------------------------------------------------------------------------------- 11. older
def test_a_corrupt_latest_checkpoint_names_the_older_ones_and_how_to_branch_from_them(
    root, cli, monkeypatch, tmp_path
):
    from streamlit.testing.v1 import AppTest

    from gan_core.rundir import RUNS_ENV
    from tests.test_literal import shown

    latest = root / "good" / "checkpoints" / "step_00000020.pt"
    latest.write_bytes(latest.read_bytes()[:3000])  # cut short, as a full disk or a kill leaves it
    edit_status(root / "good", status="stopped")  # (a run Resume is offered for)
    corrupt = (
        "checkpoint step_00000020.pt of run 'good' is not a PyTorch checkpoint (not a zip archive: "
        "truncated, damaged or another format); allowed: a checkpoint saved by this dashboard; older kept "
        "checkpoints: steps 10"
    )
    before = fingerprint(root / "good")
    with pytest.raises(RunDirError) as refused:
        Runner.reopen(RunDir.open(root, "good"), {"steps": 40})
    assert str(refused.value) == corrupt and refused.value.older == [10]
    # The command line names the option that branches from one: --rewind DIR --from-step N.
    folder = root / "good"
    result = cli("train", "--resume", str(folder), "--steps", "40", "--quiet")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: --resume {folder}: {corrupt}; branch a new run from one: --rewind {folder} --from-step 10; "
        f"or go on in this run from step 10: move checkpoints/step_00000020.pt out of {folder} and resume "
        "again (its rows after step 10 are then replaced)\n"
    )
    # The Runs page's Resume says it too, naming the menu that does it there.
    monkeypatch.setenv(RUNS_ENV, str(root))
    runs_page = Path(__file__).resolve().parents[1] / "pages" / "1_Runs.py"
    at = AppTest.from_file(str(runs_page), default_timeout=TIMEOUT).run()
    at.button(key="runs_resume").click().run()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        f"Cannot resume good: {corrupt}. Branch a new run from one: Runs page, Rewind / branch, From the "
        "checkpoint at."
    ]
    assert fingerprint(root / "good") == before  # refused before anything was written
    # Doing as told works: a new run from step 10, the damaged run left as it was.
    result = cli("train", "--rewind", str(folder), "--from-step", "10", "--steps", "12", "--quiet")
    assert result.returncode == 0, result.stderr
    child = RunDir.from_path(Path(result.stdout.strip()))
    assert child.read_status()["status"] == "finished" and child.last_metrics_step() == 12
    assert fingerprint(root / "good") == before
    # and so does the other way: the damaged checkpoint moved out, the run goes on in place from step 10
    latest.rename(tmp_path / "damaged.pt")
    result = cli("train", "--resume", str(folder), "--steps", "24", "--quiet")
    assert result.returncode == 0, result.stderr
    resumed = RunDir.open(root, "good")
    assert pd.read_csv(folder / "metrics.csv")["step"].tolist() == list(
        range(1, 25)
    )  # 11-20 replaced, none twice
    assert resumed.read_status()["status"] == "finished"
    events = resumed.read_events()
    assert events[events["kind"] == "resume"]["step"].tolist() == [10]


# ---------------------------------------------------------------------------------------------- 12. rows
def header_and_rows_to(step: int) -> Callable[[bytes], bytes]:
    def cut(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        return b"".join(lines[: step + 1])  # the header, then one row per step from step 1

    return cut


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (None, "is missing, while status.json says the run reached step 20: its charts show no step"),
        (
            lambda data: b"",
            "is empty, while status.json says the run reached step 20: its charts show no step",
        ),
        (  # the blocks of a file whose writes a crash did not let reach the disk
            lambda data: b"\x00" * 500,
            "holds no row that can be read (500 bytes), while status.json says the run reached step 20: its "
            "charts show no step",
        ),
        (
            header_and_rows_to(0),
            "holds no row that can be read ({size} bytes), while status.json says the run reached step 20: "
            "its charts show no step",
        ),
        (
            header_and_rows_to(12),
            "ends at step 12, while status.json says the run reached step 20: its charts show steps up to 12",
        ),
    ],
    ids=["missing", "empty", "nul-bytes", "header-only", "cut-short"],
)
def test_metrics_rows_short_of_the_step_status_json_says_are_a_problem_named(root, damage, said):
    """A finished run at step 20 whose metrics.csv lost its rows showed step 0 (or stopped early) and said
    nothing: the view and the Runs listing say what the file lacks."""
    path = root / "good" / "metrics.csv"
    if damage is None:
        path.unlink()
    else:
        path.write_bytes(damage(path.read_bytes()))
    size = path.stat().st_size if path.exists() else 0
    line = "metrics.csv " + said.format(size=f"{size:,}")
    view = RunRegistry(root).view("good")
    assert line in view.problems and view.status == "finished"
    assert summary(root)["problems"] == line


def test_a_run_whose_rows_reach_its_step_has_no_such_problem(root):
    assert RunRegistry(root).view("good").problems == [] and summary(root)["problems"] == ""
    edit_status(root / "good", step=12)  # rows beyond status.json's step (a kill between status writes)
    assert RunRegistry(root).view("good").problems == [] and summary(root)["problems"] == ""


# --------------------------------------------------- 13. rows that do not fit the header (found by review)
def test_rows_longer_than_a_header_that_lost_a_column_are_left_out_never_read_shifted(root):
    """A header missing d_loss_real over rows of every column: pandas' fast parser cut the first row down to
    the header, every cell after the gap read under its neighbour's name (g_loss held d_loss_fake's
    values, lr_g a samples/s), with no problem said; the listing showed the shifted last row too."""
    path = root / "good" / "metrics.csv"
    header, body = path.read_bytes().split(b"\n", 1)
    path.write_bytes(header.replace(b",d_loss_real,", b",", 1) + b"\n" + body)
    frame, problems = RunDir.open(root, "good").read_metrics_checked()
    assert len(frame) == 0 and problems[0] == "metrics.csv: 20 rows with more fields than its header left out"
    view = RunRegistry(root).view("good")
    assert len(view.store) == 0
    assert "metrics.csv: 20 rows with more fields than its header left out" in view.problems
    row = summary(root)
    assert row["last"] == {} and row["status"] == "finished"


def test_a_row_opening_a_quote_it_does_not_close_hides_no_later_row(root):
    """`,"unterminated` at the end of step 8's row: the readers read on from the quote to the end of the
    file as one cell and dropped it as one row too long, so steps 9-20 were never charted while the
    listing, reading the last row alone, showed step 20."""
    path = root / "good" / "metrics.csv"
    lines = path.read_bytes().split(b"\n")
    lines[8] += b',"unterminated'  # step 8's row (line 1 is the header)
    path.write_bytes(b"\n".join(lines))
    said = (
        'metrics.csv: 1 row opening a quote (") it does not close left out: step 8; a row is one line, and '
        "a quoted cell ends on it"
    )
    frame, problems = RunDir.open(root, "good").read_metrics_checked()
    assert frame["step"].tolist() == [*range(1, 8), *range(9, 21)]
    assert problems == [said, "metrics.csv: step 8 has no row; its charts draw a line across the gap"]
    view = RunRegistry(root).view("good")
    assert view.store.view()["step"].tolist() == frame["step"].tolist() and view.problems[:2] == problems
    assert summary(root)["last"]["step"] == 20
