"""A class-conditional run on one's own folder names its classes (its subfolders) after the process that
trained it has gone: run.json keeps them (`RunMeta.class_names`), the sample grid's rows and the Compare
page read them there, and ``sample --label`` takes a class by its name. A review found a finished run's
grid rows labelled 0, 1, 2 on Compare, ``sample --label circles`` refused as "invalid int value", and
``--label 5`` answered "classes are 0..2" without saying which was which."""

import json

import numpy as np
import pytest
from PIL import Image

from gan_core.registry import RunRegistry, conditioning_words
from gan_core.rundir import RunDir, RunDirError, RunMeta
from tests.test_cli import TINY
from tests.test_cli_run_ids import one_line_error

CLASSES = ["circles", "squares", "triangles"]


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """A 4-step projection-conditional run on a folder of three class subfolders: (runs root, run id)."""
    from gan_core.__main__ import main

    base = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        (base / "data" / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) // (c + 1)
            Image.fromarray(pixels).save(base / "data" / name / f"{i}.png")
    code = main(
        ["train", "--dataset", "folder", "--data-path", str(base / "data"), "--image-size", "16",
         "--conditioning", "projection", "--steps", "4", "--checkpoint-every", "2",
         "--out", str(base / "runs"), "--run-id", "shapes", *TINY]
    )  # fmt: skip
    assert code == 0
    return base / "runs", "shapes"


def test_run_json_keeps_the_folders_class_names_and_a_view_from_disk_names_its_rows(shapes_run):
    root, run_id = shapes_run
    meta = json.loads((root / run_id / "run.json").read_text())
    assert meta["class_names"] == CLASSES
    view = RunRegistry(root).view(run_id)
    assert not view.live
    assert view.grid_classes == CLASSES  # (indices, "0", "1", "2", before)
    assert view.conditioning == "projection-conditional, 3 classes"  # (the count was left out)
    assert conditioning_words(view.meta, view.cfg) == "projection-conditional, 3 classes"


@pytest.mark.parametrize(("given", "index"), [("squares", 1), ("2", 2), ("0", 0)])
def test_sample_takes_a_class_by_its_name_or_its_index_and_says_both(shapes_run, cli, tmp_path, given, index):
    root, run_id = shapes_run
    res = cli(
        "sample", "--run", str(root / run_id), "--n", "5", "--label", given,
        "--out", str(tmp_path / "s.npy"), "--labels-out", str(tmp_path / "l.npy"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert np.load(tmp_path / "l.npy").tolist() == [index] * 5
    assert f" of class {index} '{CLASSES[index]}' from step 4 " in res.stdout


@pytest.mark.parametrize(
    ("given", "hint"),
    [("circels", "; nearest: 'circles'"), ("5", ""), ("-1", ""), ("Squares ", "; nearest: 'squares'")],
)
def test_sample_refuses_a_class_it_lacks_naming_every_class(shapes_run, cli, tmp_path, given, hint):
    root, run_id = shapes_run
    res = cli("sample", "--run", str(root / run_id), "--label", given, "--out", str(tmp_path / "s.npy"))
    assert one_line_error(res) == (
        f"error: --label '{given}' is not one of this run's classes: 0 'circles', 1 'squares', "
        f"2 'triangles' (a name, or an index 0..2){hint}"
    )
    assert not (tmp_path / "s.npy").exists()


def test_a_digits_runs_classes_are_named_by_their_index_once(conditional_digits, cli, tmp_path):
    """digits' classes are named "0".."9": said once ("class 3"), and ``--label 3`` is class 3."""
    res = cli(
        "sample", "--run", str(conditional_digits), "--n", "4", "--label", "3",
        "--out", str(tmp_path / "s.npy"), "--labels-out", str(tmp_path / "l.npy"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert " of class 3 from step 4 " in res.stdout
    assert np.load(tmp_path / "l.npy").tolist() == [3] * 4
    wrong = one_line_error(cli("sample", "--run", str(conditional_digits), "--label", "ten",
                               "--out", str(tmp_path / "t.npy")))  # fmt: skip
    assert wrong == (
        "error: --label 'ten' is not one of this run's classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 "
        "(a name, or an index 0..9)"
    )


def test_run_json_class_names_round_trip_and_a_damaged_list_is_one_message(tmp_path):
    meta = RunMeta(source="api", data_kind="images", n_classes=2, class_names=("cat", "dog"))
    assert RunMeta.from_dict(json.loads(meta.to_json()), "x") == meta
    plain = json.loads(RunMeta(source="api").to_json())
    assert "class_names" not in plain and RunMeta.from_dict(plain, "x").class_names == ()
    said = r"^run.json: class_names is the text 'cat', not a list of names \(text\)$"
    with pytest.raises(RunDirError, match=said):
        RunMeta.from_dict({**plain, "class_names": "cat"}, "run.json")
    with pytest.raises(RunDirError, match=r"^run.json: class_names\[1\] is 2, not a name \(text\)$"):
        RunMeta.from_dict({**plain, "class_names": ["cat", 2]}, "run.json")
    with pytest.raises(ValueError, match="class_names=.* is invalid: allowed a tuple"):
        RunMeta(source="api", class_names=["cat"])


def test_a_folder_from_before_run_json_is_left_as_it_is(shapes_run, tmp_path):
    """A format-1 folder (config.json, no run.json) gains no run.json: `_record_class_names` writes only
    where run.json is the folder's own."""
    import shutil

    from gan_core.runner import Runner

    root, run_id = shapes_run
    old = tmp_path / "runs"
    shutil.copytree(root / run_id, old / run_id)
    (old / run_id / "run.json").unlink()
    runner = Runner.reopen(RunDir.open(old, run_id).claim("resuming it"), {"steps": 6}).start()
    assert runner.wait(120) and runner.status == "finished", runner.error
    assert not (old / run_id / "run.json").exists()
    assert RunRegistry(old).view(run_id).grid_classes == []  # (its grids' own labels number the rows)


def test_evaluate_of_a_conditional_folder_run_says_what_it_could_not_measure(shapes_run, cli):
    """A folder run's evaluate: diversity within its classes, and on stderr what was not measured and
    why; ``--augment-k`` refused as a conditional run's, not as "not a class-conditional run"."""
    root, run_id = shapes_run
    res = cli("evaluate", "--run", str(root / run_id))
    assert res.returncode == 0, res.stderr
    scored = json.loads(res.stdout)
    assert set(scored) == {
        *("run", "checkpoint", "step", "dataset", "n_samples", "diversity", "d_separation", "data_copying")
    }
    assert scored["data_copying"]["samples"] == 512 and scored["data_copying"]["training_examples"] >= 2
    assert scored["d_separation"]["samples"] >= 16 and 0.0 <= scored["d_separation"]["auc"] <= 1.0
    notes = res.stderr.splitlines()
    assert [note.split(";")[0].split(",")[0] for note in notes] == [
        "note: not measured: FID",
        "note: not measured: the classifier-space metrics (fd_cls",
        "note: not measured: label_fidelity",
    ]
    assert notes[2].endswith("which read a class-conditional G's samples with the classifier of digits, "
                             "mnist, fashion-mnist")  # fmt: skip
    refused = one_line_error(cli("evaluate", "--run", str(root / run_id), "--augment-k", "5"))
    assert refused.startswith(
        "error: --augment-k: run 'shapes' is class-conditional on folder, which has no classifier here; the "
        "augmentation probe needs a class-conditional run (conditioning concat, projection or acgan, on "
        "digits, mnist or fashion-mnist)"
    )
