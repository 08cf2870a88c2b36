"""What a second review of the command line found: a checkpoint write that fails for lack of room ended
with torch's own zip-writer error; Ctrl-C said nothing of where the run stopped; `evaluate` did work before
refusing its flags, or ignored flags that do not apply; a resume past --steps read as if the run had those
steps; an empty --out was the working folder; a checkpoint's bare name was looked up in the working folder;
`runs` took a lagging or damaged status.json's step over the rows'; help texts with two defaults."""

import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gan_core.rundir import RunDir
from tests.test_cli_run_ids import one_line_error
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
@pytest.mark.parametrize(("signum", "how"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_a_stopped_cli_run_says_where_it_stopped_and_how_to_go_on(tmp_path, signum, how):
    root = tmp_path / "runs"
    proc = start_cli(root, "stopped")
    wait_for_rows(proc, root / "stopped" / "metrics.csv", 3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 128 + signum, err
    step = RunDir.open(root, "stopped").read_status()["step"]
    path = (root / "stopped").resolve()
    assert err.strip().splitlines()[-1] == (
        f"stopped at step {step} ({how}); continue with: python -m gan_core train --resume "
        f"{shlex.quote(str(path))}"
    )
    assert Path(out.strip().splitlines()[-1]) == path
