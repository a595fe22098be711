"""The leaderboard as a PNG bar chart. Headless (Agg) and with a font that has every
Vietnamese glyph: DejaVu Sans, which matplotlib itself ships, loaded by path so the picture does
not depend on the fonts of the machine it runs on."""

from __future__ import annotations

import io
from pathlib import Path

from handlers.i18n import _
from handlers.progress import Board
from handlers.views import grade_name, number

CHART_TOP = 15
# Grade colours, best first: clear for a village head reading on a cheap phone.
_COLOURS = {
    "excellent": "#1a9850",
    "good": "#91cf60",
    "fair": "#fee08b",
    "average": "#fc8d59",
    "weak": "#d73027",
}


def _font_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def board_png(board: Board, *, subtitle: str) -> bytes:
    """The top units by score, each bar coloured and labelled with its grade, as PNG bytes.
    One picture serves every chat of the scope, so no unit is singled out."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    font = font_manager.FontProperties(fname=str(_font_path()))
    rows = board.rows[:CHART_TOP]
    # Units without a team under the ranked ones, named without a bar: never scored.
    apart = board.unteamed[: CHART_TOP - len(rows)]
    names = [f"{r.rank}. {r.unit.name}" for r in rows] + [f"– {u.name}" for u in apart]
    scores = [r.score for r in rows]
    colours = [_COLOURS.get(r.grade, "#999999") for r in rows]
    height = 1.6 + 0.42 * max(1, len(names))
    fig = Figure(figsize=(8, height), dpi=110)
    ax = fig.add_subplot()
    positions = list(range(len(names)))[::-1]
    bars = ax.barh(positions[: len(rows)], scores, color=colours)
    for position in positions[len(rows) :]:
        ax.text(1, position, _("no team yet"), va="center", fontproperties=font, fontsize=9,
                color="#777777", parse_math=False)  # fmt: skip
    ax.set_ylim(-0.6, len(names) - 0.4)  # the rows without a bar keep their room too
    # parse_math=False everywhere a name goes: "Thôn $\\frac$" is a village's name, not TeX.
    ax.set_yticks(positions, names, fontproperties=font, fontsize=10, parse_math=False)
    ax.set_xlabel(_("Score (0–100)"), fontproperties=font)
    ax.set_xlim(0, 118)  # room for the labels after a full bar
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    for bar, value, row in zip(bars, scores, rows, strict=True):
        ax.text(
            value + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{number(value, '0.0')} · {grade_name(row.grade)}",
            va="center",
            fontproperties=font,
            fontsize=9,
            parse_math=False,
        )
    ax.set_title(
        f"{_('Leaderboard — {scope}').format(scope=board.scope.name)}\n{subtitle}",
        fontproperties=font,
        fontsize=12,
        parse_math=False,
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
