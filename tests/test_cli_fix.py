"""The command line says what the pages say: a run's damaged metrics.csv in `runs`, a resumed run's
missing header, a rewind before any checkpoint, folders the listing leaves out."""

import json
from pathlib import Path

import numpy as np
import pytest

from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir, RunDirError
from gan_core.trainer import RECORD_COLUMNS

CFG = GANConfig(dataset="ring8", width=16, latent_dim=4, device="cpu", steps=300)


def written_run(root: Path, run_id: str, rows: int) -> RunDir:
    """A finished run of ``rows`` metrics rows (every column a number), written without training."""
    run = RunDir.create(root, CFG, run_id)
    run.open_metrics(tuple(RECORD_COLUMNS))
    rng = np.random.default_rng(0)
    run.append_records(
        [
            tuple(s if c == "step" else "" if c == "flags" else float(rng.random()) for c in RECORD_COLUMNS)
            for s in range(1, rows + 1)
        ]
    )
    run.close()
    run.write_status({"status": "finished", "step": rows, "steps": rows})
    return run


def header_names_a_column_twice(path: Path) -> str:
    header, _, rows = path.read_bytes().partition(b"\n")
    names = header.split(b",")
    names[3] = b"d_loss"  # d_loss_real renamed
    path.write_bytes(b",".join(names) + b"\n" + rows)
    return "metrics.csv: its header names column 'd_loss' twice; only the first is read"


def header_misnames_a_column(path: Path) -> str:
    header, _, rows = path.read_bytes().partition(b"\n")
    path.write_bytes(header + b",my metric!" + b"\n" + rows.replace(b"\n", b",1\n"))
    return "metrics.csv: column 'my metric!' left out: a metric's name is ASCII letters, digits"


def header_not_utf8(path: Path) -> str:
    header, _, rows = path.read_bytes().partition(b"\n")
    path.write_bytes(header + b",caf\xe9" + b"\n" + rows.replace(b"\n", b",1\n"))
    return "metrics.csv: bytes that are not UTF-8 text (the first at byte"


@pytest.mark.parametrize("damage", [header_names_a_column_twice, header_misnames_a_column, header_not_utf8])
def test_runs_lists_what_the_train_view_finds_wrong_in_metrics_csvs_header(tmp_path, cli, damage):
    root = tmp_path / "runs"
    written_run(root, "fine", 300)
    said = damage(written_run(root, "damaged", 300).path / "metrics.csv")
    view_problems = RunRegistry(root).view("damaged").problems
    assert any(line.startswith(said) for line in view_problems), view_problems

    listed = cli("runs", str(root), "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["run_id"]: row for row in json.loads(listed.stdout)}
    assert rows["damaged"]["problems"] == "; ".join(
        view_problems
    )  # (its rows are whole: the header says all)
    assert rows["fine"]["problems"] == ""
    table = cli("runs", str(root))
    notes = [line.strip() for line in table.stdout.splitlines() if line.strip().startswith("problems: ")]
    assert len(notes) == 1 and said in notes[0]  # (text cut by the table's rules is not compared)


def test_a_listing_reads_a_runs_header_not_its_rows(tmp_path):
    """Bytes of garbage in the middle of a long metrics.csv are the Train view's to find, on opening the
    run: the listing reads each run's header and last row, at a cost that does not grow with the run."""
    root = tmp_path / "runs"
    path = written_run(root, "big", 3000).path / "metrics.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + np.random.default_rng(1).bytes(3000) + data[len(data) // 2 :])
    (row,) = RunRegistry(root).summaries()
    assert (row["run_id"], row["step"], row["problems"]) == ("big", 3000, "")
    assert any(
        p.startswith("metrics.csv: bytes that are not UTF-8 text")
        for p in RunRegistry(root).view("big").problems
    )
    path.write_bytes(b"1,0.5,0.25\n" + data.partition(b"\n")[2])  # its header line lost
    (row,) = RunRegistry(root).summaries()
    assert "; metrics.csv has no 'step' column (its header: '1,0.5,0.25'); nothing in it" in row["problems"]


TINY = ["--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]


def test_resume_of_a_run_whose_metrics_csv_lost_its_header_says_what_the_train_view_says(tmp_path, cli):
    """The Train view opens the run (its checkpoints and samples are sound) and says what is wrong; a
    resume, which would write rows under that header, is refused in the same words."""
    root = tmp_path / "runs"
    trained = cli("train", "--steps", "4", "--dataset", "ring8", "--out", str(root), "--run-id", "c", *TINY)
    assert trained.returncode == 0, trained.stderr
    path = root / "c" / "metrics.csv"
    path.write_bytes(path.read_bytes().partition(b"\n")[2])  # rows 1 to 4, no header line
    view = RunRegistry(root).view("c")
    assert view.store.last_step is None and view.checkpoint_steps() == [4]
    said = next(p for p in view.problems if "has no 'step' column" in p)
    assert said.startswith("metrics.csv has no 'step' column (its header: '1,")

    resumed = cli("train", "--resume", "c", "--out", str(root), "--steps", "8", *TINY)
    assert resumed.returncode == 2
    (error,) = resumed.stderr.strip().splitlines()
    assert error.startswith(f"error: --resume c: {said.partition('; nothing')[0]}; nothing")  # option, why
    assert error.endswith(
        "allowed: a first line naming the columns, 'step' among them (as this tool writes it)"
    )


@pytest.mark.parametrize(
    ("every", "when"), [(1000, "every 1000 steps, checkpoint_every, and when it ends or pauses"), (0, "")]
)
def test_rewind_of_a_run_without_a_checkpoint_yet_says_when_it_saves_one(tmp_path, cli, every, when):
    root = tmp_path / "runs"
    run = RunDir.create(root, GANConfig(dataset="ring8", device="cpu", checkpoint_every=every), "dup")
    run.write_status({"status": "running", "step": 3, "steps": 2000})
    rewound = cli("train", "--rewind", str(run.path), *TINY)
    assert rewound.returncode == 2
    (line,) = rewound.stderr.strip().splitlines()
    never = "(it saves one only when it ends or pauses: checkpoint_every is 0)"
    saves = f"(it saves one {when})" if every else never
    assert line == (
        f"error: --rewind {run.path}: run 'dup' has no checkpoint yet {saves}: branch from it once it has "
        "saved one"
    )
    assert "None" not in line
    with pytest.raises(
        RunDirError, match=r"^run 'dup' has no checkpoint at step 50, nor any other yet \(it saves"
    ):
        run.checkpoint_at(50)


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("size", ["3", "129"])
def test_an_image_size_out_of_range_names_0_the_datasets_own_as_allowed(tmp_path, cli, command, size):
    args = ["--out", str(tmp_path / "runs")] if command == "train" else ["--samples", str(tmp_path / "x.npy")]
    refused = cli(command, "--dataset", "digits", "--image-size", size, *args)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: image_size={size} is invalid: allowed 0 (the dataset's own) or a number in [4, 128] "
        "(set with --image-size)"
    ]
    assert not (tmp_path / "runs").exists()


def test_runs_names_the_folders_it_leaves_out_on_stderr_as_the_runs_page_does(tmp_path, cli):
    root = tmp_path / "runs"
    written_run(root, "kept", 3)
    written_run(root, "renamed", 3).path.rename(root / "my run\x1b[2J")  # a space: no run id
    said = (
        "Left out: 1 folder holding a run under a name that is no run id ('my run\\x1b[2J'). A run id is "
        "1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, without '..': "
        "rename the folder to list its run."
    )
    listed = cli("runs", str(root), "--json")
    assert listed.returncode == 0 and listed.stderr.strip() == said
    assert [row["run_id"] for row in json.loads(listed.stdout)] == ["kept"]  # the JSON list as it was
    table = cli("runs", str(root))
    assert table.returncode == 0 and table.stderr.strip() == said
    assert table.stdout.splitlines()[1].startswith("kept ")
    (root / "kept").rename(root / "kept two")
    empty = cli("runs", str(root))
    assert empty.stdout.startswith("No runs in") and empty.stderr.strip().startswith("Left out: 2 folders")
