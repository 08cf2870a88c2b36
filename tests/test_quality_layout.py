"""The quality charts as the Train view shows them: each divergence readable on its own scale, titles on
one line, and each chart's top margin its own title's and legend's (a newcomer's review of a ring8
mode-collapse run and of a digits run). The page flows the charts into as many columns as fit, and the
browser lines up the plots of each row it draws (tests/e2e/test_chart_grid.py)."""

import math

import pytest

from gan_core.charts import QUALITY_GROUPS
from tests.test_charts import BASELINE, charts, digits_quality, legend_rows, quality_store

# A title is one line when it fits the narrowest chart: `QUALITY_TITLE_PX` at `TITLE_CHAR_PX` (7.5 px per
# character at 14 px, with room to spare: 5.8 measured in Chromium) is 38 characters, which Chromium draws
# in ~215 px of a chart's width from its left edge; the page's columns are at least `SMALL_CHART_MIN_PX`
# (260) wide.
MAX_TITLE_CHARS = 38

# ring8 collapsing onto one mode: the mode histogram's KL near ln 8 (≈ 2.08, the most it can be) and the
# grid's KL at 16-18 nats (`quality_store`: each value + 1, 2, 3 at steps 10, 20, 30).
COLLAPSE = {"modes_covered": 0, "hq_pct": 80, "mode_kl": -0.95, "grid_kl": 15.0, "diversity": -0.5}


def chart_of(figures: dict, column: str):
    """The one chart that draws ``column`` (by its legend name)."""
    (found,) = [fig for fig in figures.values() if column in {t.name for t in fig.data}]
    return found


def drawn_y(fig) -> list[float]:
    """Every y value the chart's own y axis autoranges over: its traces' (not the edge marks' pinned axis)
    and its horizontal reference lines'."""
    values = [
        y for t in fig.data if t.yaxis in (None, "y") for y in (() if t.y is None else t.y) if y is not None
    ]
    values += [s.y0 for s in fig.layout.shapes if s.y0 == s.y1 and s.yref in (None, "y")]
    return [float(v) for v in values if math.isfinite(float(v))]


def test_mode_kl_is_on_its_own_axis_not_flattened_by_grid_kl():
    """On one linear axis with grid_kl at 16-18, mode_kl (at most ln 8) was a flat line at the bottom."""
    figures = charts.quality_figures(quality_store(COLLAPSE).view(), coverage_total=8)
    modes, grid = chart_of(figures, "mode_kl"), chart_of(figures, "grid_kl")
    assert modes is not grid
    assert "grid_kl" not in {t.name for t in modes.data}
    assert "mode_kl" not in {t.name for t in grid.data}
    # the mode chart's y axis spans its own values (0.05-2.05) and its ln 8 ceiling: under 1.5 x ln 8
    assert max(drawn_y(modes)) == pytest.approx(math.log(8), rel=1e-9)
    assert max(drawn_y(modes)) < 1.5 * math.log(8)
    assert max(drawn_y(grid)) == pytest.approx(18.0, rel=1e-9)
    (ceiling,) = [s for s in modes.layout.shapes if s.y0 == s.y1]
    assert ceiling.label.text == "ln 8 = 2.08: all in one mode"
    assert modes.layout.yaxis.title.text != "" and grid.layout.yaxis.title.text != ""
    assert modes.layout.title.text != grid.layout.title.text


@pytest.mark.parametrize(
    ("measured", "total", "line"),
    [
        ({"classes_covered": 3, "class_kl": 0.5}, 10, (math.log(10), "ln 10 = 2.30: all in one class")),
        ({"modes_covered": 3, "mode_kl": 0.5}, None, None),  # K unknown (a user's loop): no ceiling
    ],
)
def test_the_ln_k_ceiling_is_drawn_where_k_is_known(measured, total, line):
    kl_column = next(c for c in measured if c.endswith("_kl"))
    fig = chart_of(charts.quality_figures(quality_store(measured).view(), coverage_total=total), kl_column)
    found = [(s.y0, s.label.text) for s in fig.layout.shapes if s.y0 == s.y1]
    if line is None:
        assert found == []
    else:
        ((at, label),) = found
        assert at == pytest.approx(line[0], rel=1e-12) and label == line[1]


def test_quality_titles_are_one_line_at_a_third_of_the_page():
    """The PRDC chart's title ("Precision, recall, density, coverage (classifier features)", 58
    characters) and the Jensen-Shannon one (46) took two lines, pushing their plots below their
    neighbours'."""
    for name, title, _ in QUALITY_GROUPS:
        assert len(title) <= MAX_TITLE_CHARS, (name, title)
    assert int(charts.QUALITY_TITLE_PX // charts.TITLE_CHAR_PX) == MAX_TITLE_CHARS
    for figures in (digits_quality([BASELINE]), charts.quality_figures(quality_store(COLLAPSE).view())):
        for name, fig in figures.items():
            assert "<br>" not in fig.layout.title.text and len(fig.layout.title.text) <= MAX_TITLE_CHARS, name


def test_the_prdc_legend_is_horizontal_and_its_top_margin_its_own():
    """Its four entries took four rows, which with its two-line title put its plot ~80 px below its
    neighbours' (Fréchet distance, KID). One row cannot hold them in the narrowest chart: each entry needs
    ~126 px (13 characters at `LEGEND_CHAR_PX` and the 30 px line), the narrowest plot is 192 px; two to
    a row did not fit either. So the entries stay one to a row (horizontal, from the plot's left edge).
    Its top margin is its own (a one-line title and four legend rows), and its neighbours' theirs: which
    charts share a row is the browser's to know, which lowers their plots to the PRDC chart's."""
    figures = digits_quality([BASELINE])
    prdc = figures["prdc_cls"]
    names = [t.name for t in prdc.data if t.showlegend is not False]
    assert names == ["precision_cls", "recall_cls", "density_cls", "coverage_cls"]
    legend = prdc.layout.legend
    assert (legend.orientation, legend.x, legend.xanchor, legend.y, legend.yanchor) == (
        "h",
        0,
        "left",
        1,
        "bottom",
    )
    assert legend.xref in (None, "paper")  # ("container" drew the y axis's title inside the plot)
    widest = max(len(n) for n in names) * charts.LEGEND_CHAR_PX + charts.LEGEND_SYMBOL_PX
    assert 2 * widest > charts.QUALITY_MIN_PLOT_PX >= widest
    assert legend_rows(prdc) == 4
    for name, rows in (("fd_cls", 1), ("kid_cls", 1), ("prdc_cls", 4)):
        layout = figures[name].layout
        top = charts.TITLE_ROW_PX + rows * charts.LEGEND_ROW_PX  # one title line: 30, and the legend's rows
        assert (layout.margin.t, layout.height) == (top, charts.METRIC_HEIGHT - charts.MARGIN["t"] + top), (
            name
        )


@pytest.mark.parametrize("run", ["digits", "ring8"])
def test_each_quality_chart_has_its_own_top_margin_and_plots_of_one_height(run):
    """The plots are of one height, and each chart's top margin is what its own title and legend need:
    the charts the browser draws side by side are lowered to their row's tallest there, and a chart alone
    on its row (a phone) keeps its own (tests/e2e/test_chart_grid.py). The server gave rows of three one
    top margin, which were not the page's rows once it draws two or one to a row."""
    if run == "digits":
        figures = digits_quality([BASELINE])
    else:
        figures = charts.quality_figures(quality_store(COLLAPSE).view(), coverage_total=8)
    layouts = [fig.layout for fig in figures.values()]
    assert len(layouts) >= 4
    plots = {layout.height - layout.margin.t - layout.margin.b for layout in layouts}
    assert plots == {charts.METRIC_HEIGHT - charts.MARGIN["t"] - charts.MARGIN["b"]}
    for name, fig in figures.items():
        assert fig.layout.margin.t == charts.TITLE_ROW_PX + legend_rows(fig) * charts.LEGEND_ROW_PX, name
    if run == "digits":  # the PRDC chart's four legend rows, its neighbours' one
        assert (
            figures["prdc_cls"].layout.margin.t - figures["kid_cls"].layout.margin.t
            == 3 * charts.LEGEND_ROW_PX
        )
