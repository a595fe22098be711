"""The leaderboard chart draws whatever units are called."""

from __future__ import annotations

import pytest

from handlers import i18n
from handlers.chart import board_png
from handlers.progress import Board, BoardRow
from storage.models import Unit


@pytest.mark.parametrize(
    "name", ["Thôn $\\frac$", "Thôn $x^2$ & <b>", "Xóm $", "Bản \\x01 Nà Hang", "Thôn 1 $$"]
)
def test_names_are_text_not_tex(name: str) -> None:
    scope = Unit(id=1, level="commune", name="Xã $Thăng$ Bình", code="20791", name_key="x")
    rows = [
        BoardRow(
            rank=1,
            unit=Unit(id=2, level="village", name=name, code="v1", name_key="a"),
            score=72.5,
            households=300,
            grade="fair",
        ),
        BoardRow(
            rank=2,
            unit=Unit(id=3, level="village", name="Thôn Hà Lam", code="v2", name_key="b"),
            score=40.0,
            households=200,
            grade="weak",
        ),
    ]
    with i18n.use("vi"):
        png = board_png(Board(scope=scope, rows=rows, own_unit_id=None), subtitle="$tuần$ 47")
    assert png.startswith(b"\x89PNG")
    # Villages without a team, named under the ranked ones (or alone), without a bar.
    apart = [Unit(id=4, level="village", name=name, code="v3", name_key="c")]
    with i18n.use("vi"):
        for ranked in (rows, []):
            board = Board(scope=scope, rows=ranked, own_unit_id=None, unteamed=apart)
            assert board_png(board, subtitle="tuần 47").startswith(b"\x89PNG")
