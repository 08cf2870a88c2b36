"""The README's reference parts say what the code does: the metrics.csv table lists the file's columns in
the file's order, and the tour of the Runs page names the table's columns by the headers it shows."""

from __future__ import annotations

import re
from pathlib import Path

from gan_core.tracking.schema import CSV_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(start: str, end: str) -> str:
    begin = README.index(start)
    return README[begin : README.index(end, begin)]


def test_the_metrics_csv_table_lists_the_files_columns_in_the_files_order():
    table = section("### metrics.csv columns", "Compare's **Download CSV**")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    named = [name for row in rows for name in re.findall(r"`([a-z_0-9]+)`", row.split(" | ")[0])]
    assert named == list(CSV_COLUMNS)


def test_the_runs_page_tour_names_each_table_column_by_its_header():
    page = (ROOT / "pages" / "1_Runs.py").read_text(encoding="utf-8")
    headers = re.findall(r'st\.column_config\.\w+Column\(\s*"([^"]+)"', page)
    assert len(headers) >= 12  # (the table's configured columns, as the page names them)
    tour = section("**Runs** lists every run", "A run of your own loop")
    shown = re.findall(r"\*\*([^*]+)\*\*", tour)
    assert [h for h in headers if h not in shown] == []
    order = re.search(r"column_order=\[(.*?)\]", page, re.S).group(1)
    plain = set(re.findall(r'"([a-z_]+)"', order)) - set(re.findall(r'"([a-z_]+)": st\.column_config', page))
    assert plain == {"dataset", "model", "loss", "error"}  # (no header of their own: shown by name)
    assert set(shown) - set(headers) == {"Runs"} | plain
