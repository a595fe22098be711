"""Rendering rich text for Telegram: escaping, mentions, and the 4096 limit."""

from __future__ import annotations

from bot.render import TELEGRAM_LIMIT, telegram_html
from handlers.richtext import Rich, b, fmt, mention
from sandbox.telegram import _TelegramHTML, utf16_len


def test_escapes_every_string() -> None:
    rich = Rich().add(
        fmt("{name} báo cáo {unit}", name=mention("tg:5", '<b>Ánh & "Bé"'), unit=b("Thôn <3>"))
    )
    [html] = telegram_html(rich)
    assert html == (
        '<a href="tg://user?id=5">&lt;b&gt;Ánh &amp; "Bé"</a> báo cáo <b>Thôn &lt;3&gt;</b>'
    )
    assert _TelegramHTML().parse(html) == '<b>Ánh & "Bé" báo cáo Thôn <3>'


def test_mention_of_other_platform_is_plain() -> None:
    [html] = telegram_html(Rich().add(mention("zalo:8a3f", "Lan")))
    assert html == "Lan"


def test_long_text_splits_at_lines_and_stays_valid() -> None:
    rich = Rich()
    for n in range(400):
        rich.add(b(f"{n}. Thôn Rất Dài Ơi Là Dài"), " — 72,5 điểm & <khá>")
    parts = telegram_html(rich)
    assert len(parts) > 1
    for part in parts:
        visible = _TelegramHTML().parse(part)
        assert utf16_len(visible) <= TELEGRAM_LIMIT


def test_single_huge_line_is_cut() -> None:
    rich = Rich().add(b("😀" * 5000))  # astral characters count twice in UTF-16
    [part] = telegram_html(rich)
    visible = _TelegramHTML().parse(part)
    assert utf16_len(visible) <= TELEGRAM_LIMIT
    assert visible.endswith("…")
