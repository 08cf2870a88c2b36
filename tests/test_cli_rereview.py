"""What a second review of the command line found: a checkpoint write that fails for lack of room ended
with torch's own zip-writer error; Ctrl-C said nothing of where the run stopped; `evaluate` did work before
refusing its flags, or ignored flags that do not apply; a resume past --steps read as if the run had those
steps; an empty --out was the working folder; a checkpoint's bare name was looked up in the working folder;
`runs` took a lagging or damaged status.json's step over the rows'; help texts with two defaults."""

import argparse
import importlib
import json
import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_core.__main__ as cli_module
from gan_core.__main__ import build_parser
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.downstream import CONDITIONAL_RUN
from gan_core.rundir import RUN_ID_RULE, RUNS_ENV, RunDir, _describe_holder
from tests.test_cli import TINY
from tests.test_cli_fix import written_run
from tests.test_cli_run_ids import one_line_error, train
from tests.test_crash import TIMEOUT, start_cli, wait_for_rows

ROOT = Path(__file__).resolve().parents[1]


def _file_size_limit(max_bytes: int):
    """For a child process: the kernel refuses writes past ``max_bytes`` (EFBIG, as `ulimit -f` does)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


# -------------------------------------------------------- 1. a checkpoint write that fails
def test_a_checkpoint_too_large_to_write_is_named_with_its_cause(tmp_path, cli):
    root = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "gan_core", "train", "--dataset", "ring8", "--steps", "100", "--device", "cpu",
         "--run-id", "failed", "--checkpoint-every", "20", "--quiet", "--out", str(root)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=_file_size_limit(150 * 1024),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == (
        "error: run failed: RunDirError: run 'failed': cannot write checkpoints/step_00000020.pt: "
        "File too large"
    )
    assert not list((root / "failed" / "checkpoints").iterdir())  # no temp file left behind
    res = cli("train", "--resume", str(root / "failed"), "--quiet")
    assert res.returncode == 2
    assert one_line_error(res) == (
        f"error: --resume {root / 'failed'}: run 'failed' has no checkpoint to continue from (writing its "
        "first one failed: checkpoints/step_00000020.pt: File too large); start a new run where there is "
        "room to write one"
    )


# -------------------------------------------------------- 2. Ctrl-C or SIGTERM says where the run stopped
@pytest.mark.parametrize(
    ("signums", "how"),
    [
        ((signal.SIGINT,), "Ctrl-C"),
        ((signal.SIGTERM,), "SIGTERM"),
        # a Ctrl-C in torchrun's terminal: the worker gets the SIGINT, then torchrun's SIGTERM at once
        ((signal.SIGINT, signal.SIGTERM), "Ctrl-C"),
    ],
)
def test_a_stopped_cli_run_says_where_it_stopped_and_how_to_go_on(tmp_path, signums, how):
    root = tmp_path / "runs"
    proc = start_cli(root, "stopped")
    wait_for_rows(proc, root / "stopped" / "metrics.csv", 3)
    for signum in signums:
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 128 + signums[0], err
    step = RunDir.open(root, "stopped").read_status()["step"]
    # and recorded so, as the tracking API's runs are (a review: a scheduler's SIGTERM read as a Stop)
    said = "interrupted (Ctrl-C)" if signums[0] == signal.SIGINT else "terminated (SIGTERM)"
    assert RunDir.open(root, "stopped").read_status()["error"] == said
    path = (root / "stopped").resolve()
    assert err.strip().splitlines()[-1] == (
        f"stopped at step {step} ({how}); continue with: python -m gan_core train --resume "
        f"{shlex.quote(str(path))}"
    )
    assert Path(out.strip().splitlines()[-1]) == path


def test_a_pause_resume_and_stop_from_the_dashboard_are_said_in_the_terminal(tmp_path):
    """A review: Stop from the dashboard ended a CLI run with only its folder printed, as one that finished
    its steps; a Pause froze the progress bar without a word."""
    import time

    from gan_core.tracking.commands import send_command

    root = tmp_path / "runs"
    proc = start_cli(root, "asked")
    folder = root / "asked"
    wait_for_rows(proc, folder / "metrics.csv", 3)

    def reaches(status):
        deadline = time.monotonic() + TIMEOUT
        while RunDir.open(root, "asked").read_status().get("status") != status:
            assert proc.poll() is None and time.monotonic() < deadline, status
            time.sleep(0.05)

    send_command(folder, "pause", source="dashboard")
    reaches("paused")
    paused_at = RunDir.open(root, "asked").read_status()["step"]
    send_command(folder, "resume", source="dashboard")
    reaches("running")
    send_command(folder, "stop", source="my sweep")  # another program, by its own name
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    said = [line for line in lines if line.startswith(("paused at", "resumed at", "stopped at"))]
    step = RunDir.open(root, "asked").read_status()["step"]
    path = shlex.quote(str(folder.resolve()))
    assert said[0] == (
        f"paused at step {paused_at} from the dashboard: Resume there to go on, or Ctrl-C here to stop "
        "(checkpoint and files flushed)"
    )
    assert said[1] == f"resumed at step {paused_at} from the dashboard"
    assert said[2:] == [
        f"stopped at step {step} (Stop from 'my sweep'); continue with: python -m gan_core train "
        f"--resume {path}"
    ]
    assert step >= paused_at and Path(out.strip().splitlines()[-1]) == folder.resolve()


@pytest.fixture
def ring8(tmp_path, cli, monkeypatch):
    """Run 'ring8' (4 steps, checkpoints at 2 and 4) in $GAN_DASHBOARD_RUNS = tmp/runs; working in tmp."""
    runs = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(runs))
    monkeypatch.chdir(tmp_path)
    return train(cli, runs, "ring8", steps=4)


# -------------------------------------------------------- 3. and 6. evaluate's augmentation flags
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--augment-k", "0"], "error: --augment-k 0: real images per class; allowed 1 to the training "
         "split's smallest class (default 10)"),
        (["--augment-generated", "0"], "error: --augment-generated 0: G's samples per class; allowed 1 to "
         "10,000 (default 100)"),
        (["--augment-k", "1"], f"error: --augment-k: run 'ring8' is not class-conditional; the augmentation "
         f"probe needs {CONDITIONAL_RUN} (leave the flag out)"),
    ],
)  # fmt: skip
def test_evaluate_refuses_augmentation_flags_that_cannot_apply(ring8, cli, flags, message):
    assert one_line_error(cli("evaluate", "--run", "ring8", *flags)) == message


def test_evaluate_refuses_augmentation_flags_with_samples(ring8, cli):
    assert cli("sample", "--run", "ring8", "--n", "50", "--out", "s.csv").returncode == 0
    res = cli("evaluate", "--dataset", "ring8", "--samples", "s.csv", "--augment-k", "3")
    assert one_line_error(res) == (
        f"error: --augment-k goes with --run of {CONDITIONAL_RUN} (the augmentation probe needs its G), "
        "not with --samples"
    )


def test_evaluate_refuses_a_k_beyond_the_smallest_class_before_scoring(conditional_digits, cli, monkeypatch):
    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before the flags were checked")

    monkeypatch.setattr(cli_module, "evaluate_samples", no_scoring)
    monkeypatch.setattr(cli_module, "gan_train_test", no_scoring)
    res = cli("evaluate", "--run", str(conditional_digits), "--augment-k", "5000")
    assert one_line_error(res) == (
        "error: --augment-k 5000: the training split of digits has 139 real images of its smallest class; "
        "allowed 1 to 139"
    )


# -------------------------------------------------------- 7. a checkpoint's bare name
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_checkpoints_bare_name_is_looked_up_in_the_runs_checkpoints(ring8, cli, command):
    out = ["--n", "5", "--out", "s.csv"] if command == "sample" else []
    res = cli(command, "--run", "ring8", "--checkpoint", "step_00000002.pt", *out)
    assert res.returncode == 0, res.stderr
    if command == "sample":
        assert res.stdout.strip() == f"wrote 5 samples from step 2 of {ring8.resolve()} to s.csv"
    else:
        assert (json.loads(res.stdout)["checkpoint"], json.loads(res.stdout)["step"]) == (
            "step_00000002.pt",
            2,
        )


# -------------------------------------------------------- 8. evaluate --run of a conditional run
def test_evaluate_gives_a_conditional_runs_label_fidelity(conditional_digits, cli, monkeypatch):
    monkeypatch.setattr(cli_module, "gan_train_test", lambda *a, **k: {"skipped": True})  # tested elsewhere
    monkeypatch.setattr(cli_module, "augmentation_probe", lambda *a, **k: {"skipped": True})
    asked = []  # the classes its diversity is measured within (the test below: how it is)
    monkeypatch.setattr(
        cli_module, "class_diversity", lambda fake, labels, *real: asked.append(labels) or 0.25
    )
    res = cli("evaluate", "--run", str(conditional_digits))
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert 0.0 <= got["label_fidelity"] <= 1.0
    assert got["diversity"] == 0.25  # within each class, as the run records it
    (labels,) = asked
    assert labels.tolist() == [i % 10 for i in range(cli_module.EVALUATE_RUN_SAMPLES)]  # in turn, G's default
    assert "label_fidelity" in cli("evaluate", "--help").stdout


def test_evaluate_measures_a_conditional_gs_diversity_within_each_class():
    """evaluate --run printed a conditional G's diversity across classes (1.17) where its run recorded
    it within each (0.076: collapsed in every class, its rows of one image each): what the README warns
    a collapse across classes hides. Ten real digits of each class, each repeated: one image a class."""
    cfg = GANConfig(dataset="digits", device="cpu")
    data = load_data(cfg)
    images, labels = data.examples().numpy(), np.asarray(data.labels)
    firsts = np.array([np.flatnonzero(labels == k)[0] for k in range(10)])
    asked = np.arange(200) % 10
    samples = (images[firsts[asked]] + 1.0) / 2.0  # to [0, 1], as a file of samples holds them
    across = cli_module.evaluate_samples(samples, cfg)["diversity"]
    within = cli_module.evaluate_samples(samples, cfg, labels=asked)["diversity"]
    assert across >= 0.5  # ten different digits: spread as real ones are
    assert 0.0 <= within <= 0.01  # one image per class


# -------------------------------------------------------- 4. a resume given fewer steps than the run is at
def test_a_resume_below_the_runs_step_says_the_steps_asked_are_past(ring8, cli):
    res = cli("train", "--resume", "ring8", "--steps", "3", "--quiet")
    assert one_line_error(res) == (
        "error: --resume ring8: run ring8 is at step 4, past the steps=3 asked: give a steps above 4 (steps "
        "is the total to reach, counted from the run's start), or steps=0 to train until stopped"
    )


# -------------------------------------------------------- 5. an empty --out
def test_an_empty_out_is_refused(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("train", "--dataset", "ring8", "--steps", "2", "--out", "", *TINY)
    assert one_line_error(res) == (
        "error: argument --out: empty (it would make the working folder the runs folder); allowed: a folder "
        f"path (default: ${RUNS_ENV} if set, else runs/) (see python -m gan_core train --help)"
    )
    assert not list(tmp_path.iterdir())


# -------------------------------------------------------- 9. runs shows the step its rows reach
@pytest.mark.parametrize(
    "status",
    [
        {"status": "running", "step": 40, "steps": 50},  # written every few seconds: behind its rows
        {"status": 5, "step": "x"},  # damaged: its step is left out
    ],
)
def test_runs_shows_the_step_the_rows_reach(tmp_path, cli, status):
    run = written_run(tmp_path, "r", rows=50)
    (run.path / "status.json").write_text(json.dumps(status))
    res = cli("runs", str(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    assert (row["step"], row["last"]["step"]) == (50, 50)


# -------------------------------------------------------- 10. one default per flag in train --help
def test_every_train_flag_gives_one_default():
    train = next(
        action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ).choices["train"]
    for action in train._actions:
        if action.help:
            assert action.help.count("(default") <= 1, action.option_strings
    data_path = next(a for a in train._actions if "--data-path" in a.option_strings)
    assert data_path.help.endswith("torchvision root folder, empty for ./data (default: '')")


# -------------------------------------------------------- 11. the benchmarks' command lines
_PARSER_OF = """
import argparse, json, runpy, sys

def report(parser, args=None, namespace=None):
    shown = [a for a in parser._actions if a.help != argparse.SUPPRESS and "--help" not in a.option_strings]
    print(json.dumps({"usage": parser.format_usage(), "help": parser.format_help(),
                      "helpless": [a.option_strings for a in shown if not a.help]}))
    raise SystemExit(0)

argparse.ArgumentParser.parse_args = report  # the parser as its module builds it, nothing run
sys.argv = [sys.argv[1]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
BENCHMARKS = sorted(
    f"benchmarks.{p.stem}" for p in (ROOT / "benchmarks").glob("*.py") if "argparse" in p.read_text()
)


@pytest.mark.parametrize("module", ["benchmarks", *BENCHMARKS])
def test_a_benchmarks_help_names_its_command_and_explains_every_flag(module):
    res = subprocess.run(
        [sys.executable, "-c", _PARSER_OF, module], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["usage"].startswith(f"usage: python -m {module} ")
    assert got["helpless"] == []
    scenarios = getattr(
        importlib.import_module(
            module.replace("benchmarks", "benchmarks.tracking", 1) if module == "benchmarks" else module
        ),
        "SCENARIOS",
        {},
    )
    for name in scenarios:  # --scenarios lists what it takes
        assert name in " ".join(got["help"].split()), name


# -------------------------------------------------------- 12. README's command line section; preset names
def test_readmes_runs_sample_has_the_listings_header(tmp_path, cli):
    train(cli, tmp_path, "r", steps=2)
    train(cli, tmp_path, "r-seed-1", steps=2, seed=1)  # (a sweep: its settings that differ, last)
    header = cli("runs", str(tmp_path)).stdout.splitlines()[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ python -m gan_core runs\n", 1)[1].splitlines()[0]
    assert sample.split() == header.split()


def test_readme_states_the_run_id_rule_and_the_lock_holders_message():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "starting with a letter or digit" in readme and "starting with a letter or digit" in RUN_ID_RULE
    holder = {"pid": 4242, "host": "host", "purpose": "training it", "since": "2026-11-30T11:00:00.000+00:00",
              "command": "python -m gan_core train --resume runs/r"}  # fmt: skip
    said = (
        f"run 'r' is in use by {_describe_holder(holder)}; allowed: one writer at a time (stop it there "
        "first, or wait until it ends)"
    )  # as RunLock.claim says it
    assert f"`error: --resume runs/r: {said}`" in readme


def test_the_lock_names_its_holders_command_as_typed_not_its_main_file(tmp_path):
    proc = start_cli(tmp_path, "held")
    try:
        wait_for_rows(proc, tmp_path / "held" / "metrics.csv", 1)
        info = json.loads((tmp_path / "held" / ".lock").read_text(encoding="utf-8"))
        assert info["command"].startswith(f"{Path(sys.executable).name} -m gan_core train ")
        assert info["command"].endswith(f"--out {tmp_path} --run-id held")
        assert "__main__" not in info["command"] and "/" not in info["command"].split()[0]
        busy = subprocess.run(
            [sys.executable, "-m", "gan_core", "train", "--resume", str(tmp_path / "held")],
            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert busy.returncode != 0 and "(python" in busy.stderr and "-m gan_core train" in busy.stderr
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


def test_a_resume_of_a_run_in_use_is_refused_before_its_data_loads(tmp_path, cli, monkeypatch, capsys):
    train(cli, tmp_path, "r", steps=2)
    holder = RunDir.open(tmp_path, "r").claim("training it")  # (another claimant: a fresh open of .lock)
    loads = []
    monkeypatch.setattr(cli_module, "_load_reporting", lambda *a, **k: loads.append(a))
    try:
        code = cli_module.main(["train", "--resume", str(tmp_path / "r"), "--steps", "4"])
    finally:
        holder.release()
    assert code == cli_module.EXIT_BAD_INPUT and loads == []
    said = capsys.readouterr().err
    assert said.startswith(f"error: --resume {tmp_path / 'r'}: run 'r' is in use by this process")
    assert RunDir.open(tmp_path, "r").claim("training it").claimed  # nothing left held: claimable again


def test_a_preset_trained_on_other_data_is_named_after_that_data(tmp_path, cli):
    res = cli("train", "--preset", "healthy-ring8", "--dataset", "grid25", "--steps", "1", "--out",
              str(tmp_path), *TINY)  # fmt: skip
    assert res.returncode == 0, res.stderr
    (made,) = [p.name for p in tmp_path.iterdir()]
    assert made.startswith("grid25-") and "ring8" not in made
    res = cli("train", "--preset", "healthy-ring8", "--steps", "1", "--out", str(tmp_path / "own"), *TINY)
    assert res.returncode == 0, res.stderr
    assert [p.name for p in (tmp_path / "own").iterdir()][0].startswith("healthy-ring8-")


def test_runs_json_gives_the_latest_evaluations_counts_as_integers():
    """A review: ``runs --json`` said ``"modes_covered": 8.0`` where ``evaluate`` prints 8."""
    evaluated = {"modes_covered": 8.0, "hq_pct": 91.0}
    rows = [
        {"run_id": "a", "flags": "", "last": {"step": 5.0}, "last_eval": evaluated},
        {"run_id": "b", "flags": "", "last": {}, "last_eval": None},
    ]
    text = cli_module.runs_json(rows)
    assert '"modes_covered": 8,' in text and '"hq_pct": 91.0' in text
    listed = json.loads(text)
    assert listed[0]["last_eval"] == {"modes_covered": 8, "hq_pct": 91.0}
    assert listed[1]["last_eval"] is None
    assert evaluated["modes_covered"] == 8.0  # (the rows given are left as they were)
