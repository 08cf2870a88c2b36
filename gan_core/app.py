"""The engine as the dashboard's pages see it: one door.

Pages and `ui/` import from here only (tests/test_app_door.py checks it). What they need is the run views
(`RunRegistry`, `RunView`: live or on disk, the dashboard's own or a user's loop; their controls), the
schema's names (columns, statuses, sources), the configuration form's fields and registries, the pure figure
builders (`charts`), probe functions (`probe`) and the uses of a trained GAN (`downstream`), and what starting
a run from the form needs (`load_data` and the device names, checked before a run folder is made). No runner
or trainer: a page starts, controls and reads runs through the registry and its views; `RunDir` is here for
reading a run's files (the probe's checkpoints), never for writing them.
"""

from gan_core import charts, downstream, flags, probe
from gan_core.classifier import trained_accuracy
from gan_core.config import (
    CONDITIONINGS,
    DATASETS,
    DEVICE_CHOICES,
    LOSSES,
    MODELS,
    MUTABLE_FIELDS,
    NUMBER_RANGES,
    RECORDING_FIELDS,
    ConfigError,
    GANConfig,
    field_docs,
    split_changes,
)
from gan_core.data import DATASETS as DATASET_SPECS
from gan_core.data import (
    IMAGE_EXTENSIONS,
    DataError,
    DataSource,
    allowed_roots_text,
    check_data_contents,
    check_data_path,
    load_data,
    read_points_csv,
)
from gan_core.environment import environment_rows
from gan_core.evaluation import coverage_total
from gan_core.export import (
    MAX_UPLOAD_BYTES,
    UploadError,
    extract_images_zip,
    metrics_csv_bytes,
    run_zip_bytes,
    save_points_upload,
)
from gan_core.flags import FLAGS, failures_first_words
from gan_core.losses import LOSSES as LOSS_SPECS
from gan_core.losses import get_loss
from gan_core.presets import (
    DEFAULT_PICTURE,
    PRESETS,
    get_preset,
    healthy_preset_for,
    healthy_recipe_not_used,
    read_pictures,
    trains_as_the_defaults,
)
from gan_core.quoting import quoted
from gan_core.registry import (
    ABSENT,
    DEFAULT_MAX_ACTIVE,
    HEADLINE_QUALITY,
    SUMMARY_METRICS,
    NotesPendingError,
    RegistryError,
    RunLimitError,
    RunRegistry,
    RunView,
    compare_csv_bytes,
    compare_summary,
    filter_hint,
    filter_runs,
    headline_evaluation,
    listing_settings,
    settings_tables,
    summary_settings,
)
from gan_core.rundir import (
    MAX_NOTES_CHARS,
    RUN_ID_RULE,
    RUNS_ENV,
    NotesChangedError,
    RunDir,
    RunDirError,
    checked_notes,
    notes_line,
    validate_run_id,
)
from gan_core.runner import RunnerError, UnusableCheckpointError, continue_device
from gan_core.speed import SampleRate, StepRate, row_samples
from gan_core.store import shared_rows_per_point
from gan_core.tracking.schema import ENDED, EVAL_COLUMNS, SOURCES, STEP_METRICS
from gan_core.trainer import resolve_device
from gan_core.uploads import UploadsError, delete_upload, list_uploads, upload_of, uploads_root

__all__ = [
    "ABSENT",
    "CONDITIONINGS",
    "DATASETS",
    "DATASET_SPECS",
    "DEFAULT_MAX_ACTIVE",
    "DEFAULT_PICTURE",
    "DEVICE_CHOICES",
    "ENDED",
    "EVAL_COLUMNS",
    "FLAGS",
    "failures_first_words",
    "HEADLINE_QUALITY",
    "MAX_NOTES_CHARS",
    "notes_line",
    "checked_notes",
    "IMAGE_EXTENSIONS",
    "LOSSES",
    "LOSS_SPECS",
    "MAX_UPLOAD_BYTES",
    "MODELS",
    "MUTABLE_FIELDS",
    "NUMBER_RANGES",
    "PRESETS",
    "RECORDING_FIELDS",
    "RUN_ID_RULE",
    "RUNS_ENV",
    "SOURCES",
    "STEP_METRICS",
    "SUMMARY_METRICS",
    "SampleRate",
    "StepRate",
    "row_samples",
    "ConfigError",
    "DataError",
    "DataSource",
    "GANConfig",
    "NotesChangedError",
    "NotesPendingError",
    "RegistryError",
    "RunLimitError",
    "RunDir",
    "RunDirError",
    "RunRegistry",
    "RunView",
    "RunnerError",
    "UnusableCheckpointError",
    "UploadError",
    "UploadsError",
    "charts",
    "downstream",
    "flags",
    "allowed_roots_text",
    "check_data_contents",
    "check_data_path",
    "continue_device",
    "compare_csv_bytes",
    "compare_summary",
    "coverage_total",
    "environment_rows",
    "delete_upload",
    "extract_images_zip",
    "field_docs",
    "get_loss",
    "get_preset",
    "headline_evaluation",
    "healthy_preset_for",
    "healthy_recipe_not_used",
    "trains_as_the_defaults",
    "list_uploads",
    "load_data",
    "metrics_csv_bytes",
    "probe",
    "quoted",
    "read_pictures",
    "read_points_csv",
    "resolve_device",
    "run_zip_bytes",
    "save_points_upload",
    "listing_settings",
    "filter_hint",
    "filter_runs",
    "settings_tables",
    "shared_rows_per_point",
    "summary_settings",
    "split_changes",
    "trained_accuracy",
    "upload_of",
    "uploads_root",
    "validate_run_id",
]
