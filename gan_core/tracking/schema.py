"""The names every run's records use, defined once: metrics.csv's columns, the event kinds and their
fields, and the run folder's format version.

The same name is the CSV column, the chart legend and the key in the dict a training step returns
(CONVENTIONS rule 6). Adding a per-step metric is one entry in `STEP_METRICS` (and the code that computes
it): the CSV header, the store, the export and the charts' hover read the column list from here, and a
run folder written before the column existed still opens (readers fill a missing column with gaps).

Columns a run folder holds beyond these (a user's own metric logged through `gan_core.track`) are
*custom metrics*: kept, exported, and drawn in their own chart group (`custom_columns`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from gan_core.environment import ENVIRONMENT_FIELDS, environment_detail
from gan_core.quoting import quoted

# Version of the run folder's layout, recorded in run.json. 1: folders written before run.json existed
# (config.json, metrics.csv, events.csv with or without the fields column). 2: run.json (metadata for runs
# that have no built-in config), extra metrics.csv columns allowed, commands.json for external runs.
FORMAT_VERSION = 2

# Who trained a run: where its records came from (run.json's ``source``).
SOURCES = {
    "trainer": "gan_core's built-in trainer (the dashboard or python -m gan_core train)",
    "api": "a user's own training loop through gan_core.track",
    "lightning": "a LightningModule through gan_core.tracking.lightning.GANTrackingCallback",
}
OWNED_SOURCES = ("trainer",)
# A run's status (status.json ``status``). A reader that finds running, paused or idle in a folder no
# writer holds reports ``interrupted`` (the writer was killed or crashed).
STATUSES = ("idle", "running", "paused", "finished", "stopped", "failed")
ENDED = ("finished", "stopped", "failed")  # runs the product can resume, branch and single-step
DATA_KINDS = ("points", "images", "other")

# What each D update measures, in the order `measures.d_metrics` stacks them on the device.
D_METRICS = (
    "d_loss",
    "d_loss_real",
    "d_loss_fake",
    "d_acc_real",
    "d_acc_fake",
    "d_real",
    "d_fake",
    "d_grad_norm",
)
G_METRICS = ("g_loss", "g_grad_norm")
# The hyperparameters each row records as in force (mid-run changes move them).
HPARAM_COLUMNS = (
    "lr_g",
    "lr_d",
    "d_steps",
    "beta1",
    "beta2",
    "label_smoothing",
    "instance_noise",
    "gp_weight",
    "clip_value",
)
# Image quality in a feature space (gan_core.feature_metrics), every eval_every steps: in the project's
# classifier's space (digits, mnist, fashion-mnist: suffix _cls; a Fréchet distance there is not an FID)
# and in Inception's (any image data, when its weights are on disk: fid, kid and the _inception four).
FEATURE_SPACES = {"cls": "the classifier's penultimate layer", "inception": "Inception-v3's pool features"}
FEATURE_COLUMNS_BY_SPACE = {
    "cls": ("fd_cls", "kid_cls", "precision_cls", "recall_cls", "density_cls", "coverage_cls"),
    "inception": (
        "fid",
        "kid",
        "precision_inception",
        "recall_inception",
        "density_inception",
        "coverage_inception",
    ),
}
FEATURE_COLUMNS = tuple(c for columns in FEATURE_COLUMNS_BY_SPACE.values() for c in columns)
# Quality metrics, measured every eval_every steps and blank (NaN) on the other steps.
EVAL_COLUMNS = (
    "modes_covered",
    "hq_pct",
    "mode_kl",
    "grid_kl",
    "grid_js",
    "classes_covered",
    "class_kl",
    "diversity",
    *FEATURE_COLUMNS,
    # class-conditional runs: the share (0-1) of G's samples the classifier puts in the class asked for,
    # and (acgan) the share of held-out real images whose class D's class head names
    "label_fidelity",
    "d_class_acc",
)

# One record per generator step, in metrics.csv's column order. Units: time_s seconds of training
# (pauses excluded), samples_per_s real samples D saw per second, grad norms the total L2 norm of the
# gradients before the optimizer step (measured, never clipped).
RECORD_COLUMNS = (
    "step",
    "time_s",
    *D_METRICS[:3],  # d_loss, d_loss_real, d_loss_fake
    G_METRICS[0],  # g_loss
    *D_METRICS[3:],  # d_acc_real, d_acc_fake, d_real, d_fake, d_grad_norm
    G_METRICS[1],  # g_grad_norm
    *HPARAM_COLUMNS[:3],  # lr_g, lr_d, d_steps
    "samples_per_s",
    # the other hyperparameters that may change mid-run, so every row says what was in force
    *HPARAM_COLUMNS[3:],
    *EVAL_COLUMNS,
)
STEP_METRICS = tuple(c for c in RECORD_COLUMNS if c != "step")
# metrics.csv adds the failure flags up at each step ("|"-separated names) to the numeric record.
TEXT_COLUMNS = ("flags",)
CSV_COLUMNS = (*RECORD_COLUMNS, *TEXT_COLUMNS)

# Event kinds (events.csv ``kind``) and the fields each carries (events.csv ``fields``, JSON). Programs
# read the fields; ``detail`` is the line for people, made from them by `event_detail`.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("status", "error"),
    "hparam": ("field", "old", "new"),
    "device": ("field", "old", "new"),
    "world_size": ("field", "old", "new"),  # a run resumed with another number of processes
    "job": ("world_size", "backend", "hosts"),  # a multi-process job starts (or goes on) writing the run
    "rank_stop": (),  # a rank other than 0 asked the job to stop (Ctrl-C or SIGTERM on it)
    "resume": ("from_step", "replaced"),
    "branch": ("parent", "parent_step"),
    # (``diverged`` also names the columns not finite and those its step did not measure)
    "flag": ("flag", "columns", "unmeasured"),
    "flag_cleared": ("flag",),
    "step_d": D_METRICS,
    "step_g": (),
    "step_full": (),
    "eval_error": ("error",),
    "snapshot_unreadable": ("snapshot_step",),
    "command": ("command", "source"),  # Pause/Stop/Resume received through an external run's command file
    # a folder's files left out at the start (`DataSource.left_out_fields`): unreadable ones (``count``, of
    # them ``too_large``, the first few ``names``), links ``outside`` the allowed folders, ``other_types``
    "data": ("count", "too_large", "names", "outside", "other_types"),
    # what looks wrong in how a loop of your own calls the API (`gan_core.tracking.checks`, or calls after the
    # last g_step at finish): ``check`` names it, ``detail`` says it, the rest are the numbers it read; one
    # with ``withdrawn`` (the step it was said at) takes back what that check said (a row proved it wrong)
    "warning": ("check",),
    # the feature-space metrics between two disjoint halves of the real data (the "as good as real" lines),
    # and ``rows``, n, the images of each half (and of G's measured against it: the values depend on n)
    "baseline": (*FEATURE_COLUMNS, "rows"),
    # at each evaluation that labels G's samples, which classes (digit-like images) or modes (ring8, grid25)
    # they fall in (`evaluation.share_fields`): ``per`` "class" or "mode", one ``names``, ``share`` (G's)
    # and ``real_share`` (0-1) entry per class or mode, ``samples`` (G's, evaluated), and for a
    # class-conditional G ``fidelity``, per class asked for, the share of its samples named that class
    "class_shares": ("per", "names", "share", "real_share", "samples", "fidelity", "nearest"),
    # what each start of the run (new, resumed, a job's restart) trains with: versions, device, CPU threads
    # (`gan_core.environment`; the same settings and seed give the same numbers only where these agree)
    "environment": ENVIRONMENT_FIELDS,
}
EVENT_KINDS = tuple(EVENT_FIELDS)


def is_custom_column(name: str) -> bool:
    """True for a metrics.csv column this schema does not define (a user's own metric)."""
    return name not in RECORD_COLUMNS and name not in TEXT_COLUMNS


def custom_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The custom metric columns among ``columns``, in their order."""
    return tuple(c for c in columns if is_custom_column(c))


# The columns Compare's download (`registry.compare_csv_bytes`) leads each run's rows with.
EXPORT_KEY_COLUMNS = ("run_id", "source")
# Names no custom metric may take: the charts derive ``rows`` (and NAME_min, NAME_max, NAME_nonfinite,
# `RESERVED_SUFFIXES`) from the columns, and Compare's download leads each row with `EXPORT_KEY_COLUMNS`.
RESERVED_NAMES = ("rows", *EXPORT_KEY_COLUMNS)
RESERVED_SUFFIXES = ("_min", "_max", "_nonfinite")


def check_metric_name(name: Any) -> str:
    """``name`` if it can be a custom metrics.csv column: a non-empty identifier-like string of at most
    64 characters (ASCII letters, digits, ``_ . / -``) that is neither a built-in column nor reserved
    (`RESERVED_NAMES`, a name ending in one of `RESERVED_SUFFIXES`); `ValueError` otherwise."""
    allowed = "ASCII letters, digits and _ . / - (at most 64 characters, not starting with a digit)"
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ValueError(f"metric name {quoted(name)} is invalid: allowed {allowed}")
    if name[0].isdigit() or not all(ch.isalnum() or ch in "_./-" for ch in name) or not name.isascii():
        raise ValueError(f"metric name {quoted(name)} is invalid: allowed {allowed}")
    if name in RESERVED_NAMES or name.endswith(RESERVED_SUFFIXES):
        raise ValueError(
            f"metric name {quoted(name)} is reserved: rows, run_id, source and names ending in _min, _max "
            "or _nonfinite are not custom metrics (the charts derive rows and NAME_min, NAME_max, "
            "NAME_nonfinite; Compare's download leads each row with run_id and source): choose another name"
        )
    if not is_custom_column(name):
        raise ValueError(
            f"metric name {quoted(name)} is a built-in column, computed by the tracker: log it through "
            "d_step/g_step, or choose another name"
        )
    return name


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)


def _percent(value: Any) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if number and 0 < value < 0.0005:  # one sample of a few thousand is not 0.0 %: it covers its mode
        return "<0.1%"
    return f"{100 * value:.1f}%" if number else "?"


def _shares_detail(fields: Mapping[str, Any]) -> str:
    """A ``class_shares`` event's line: G's share per class or mode, those it misses (under
    `diagnostics.MISSED_FRACTION` of the real share) and the classes least faithful to their label. For
    modes with ``nearest`` shares, which judge what is missed, those shares and then the high-quality
    ones (``share``: within 3 standard deviations of the nearest centre), each named, so that no mode
    reads as missed at a share that is not the one it was judged on."""
    from gan_core.diagnostics import missed  # (numpy; schema itself imports nothing heavy)

    per = str(fields.get("per", "class"))
    names = [str(name) for name in fields.get("names") or []]
    share, real = fields.get("share") or [], fields.get("real_share") or []

    def numbers(values: Any) -> list[float]:
        return [v if isinstance(v, int | float) and not isinstance(v, bool) else math.nan for v in values]

    # what is missed and least faithful first: a table cell cut short keeps them
    said = []
    nearest = fields.get("nearest") if per == "mode" else None
    nearest = numbers(nearest) if isinstance(nearest, list) and len(nearest) == len(names) else None
    if len(share) == len(real) == len(names):
        gone = [n for n, m in zip(names, missed(numbers(share), numbers(real), nearest)) if m]
        plural = {"class": "classes"}.get(per, f"{per}s")
        said.append(
            f"under-represented {plural}: {', '.join(gone)}" if gone else f"no {per} under-represented"
        )
    fidelity = numbers(fields.get("fidelity") or [])
    known = sorted((v, n) for n, v in zip(names, fidelity) if math.isfinite(v))
    if known:
        said.append("lowest fidelity: " + ", ".join(f"{n} {v:.2f}" for v, n in known[:3]))
    if nearest is not None:  # modes are missed by where G's samples go: those shares first, then the HQ ones
        said.append(
            "G's samples nearest each mode: "
            + ", ".join(f"{n}: {_percent(v)}" for n, v in zip(names, nearest))
        )
        said.append(
            "high-quality per mode: " + ", ".join(f"{n}: {_percent(v)}" for n, v in zip(names, share))
        )
    else:
        said.append(
            f"G's samples per {per}: " + ", ".join(f"{n}: {_percent(v)}" for n, v in zip(names, share))
        )
    return "; ".join(said)


def event_detail(kind: str, fields: Mapping[str, Any]) -> str:
    """The line for people that an event of ``kind`` with ``fields`` shows (events.csv ``detail``)."""
    if kind in ("hparam", "device", "world_size"):
        return f"{fields.get('field')}: {_shown(fields.get('old'))} -> {_shown(fields.get('new'))}"
    if kind == "status":
        error = fields.get("error")
        return f"{fields.get('status')}: {error}" if error else str(fields.get("status"))
    if kind == "flag_cleared":
        return str(fields.get("flag"))
    if kind == "command":
        return f"{fields.get('command')} (from {fields.get('source', 'the dashboard')})"
    if kind == "step_d":
        return ", ".join(f"{k}={v:.4g}" for k, v in fields.items() if isinstance(v, int | float))
    if kind in ("step_g", "step_full"):
        return "single step while paused"
    if kind == "job":
        hosts = fields.get("hosts") or []
        return (
            f"{fields.get('world_size')} processes ({fields.get('backend')}) on "
            f"{', '.join(map(str, hosts)) if isinstance(hosts, list) else hosts}"
        )
    if kind == "rank_stop":
        return "another rank asked the job to stop (a signal)"
    if kind == "eval_error":
        return str(fields.get("error"))
    if kind == "baseline":
        at = f" (n = {fields['rows']})" if "rows" in fields else ""
        return f"real vs real{at}: " + ", ".join(f"{k}={_shown(v)}" for k, v in fields.items() if k != "rows")
    if kind == "class_shares":
        return _shares_detail(fields)
    if kind == "environment":
        return environment_detail(fields)
    return ", ".join(f"{k}={_shown(v)}" for k, v in fields.items())
