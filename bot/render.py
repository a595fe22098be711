"""Rich text to what each platform accepts: Telegram HTML with every string escaped, plain text."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from handlers.richtext import Line, Rich, Span

TELEGRAM_LIMIT = 4096

_TAGS = {"bold": "b", "italic": "i", "code": "code"}


def _html_span(span: Span) -> str:
    text = escape(span.text, quote=False)
    if span.user_id and span.user_id.startswith("tg:"):
        user = span.user_id.removeprefix("tg:")
        if user.isdigit():  # tg://user links work without a username
            text = f'<a href="tg://user?id={user}">{text}</a>'
    tag = _TAGS.get(span.style)
    return f"<{tag}>{text}</{tag}>" if tag else text


def html_line(line: Line) -> str:
    return "".join(_html_span(s) for s in line)


def plain_line(line: Line) -> str:
    return "".join(s.text for s in line)


def visible_length(line: Line) -> int:
    """Length as Telegram counts it after entity parsing: UTF-16 code units."""
    return sum(len(s.text.encode("utf-16-le")) // 2 for s in line)


def chunks(
    rich: Rich,
    *,
    limit: int,
    render: Callable[[Line], str],
    measure: Callable[[Line], int] = visible_length,
) -> list[str]:
    """Splits at line boundaries so that no message passes `limit`; a single line longer
    than that is cut (tags stay balanced because a line is cut span by span)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in rich.lines:
        line = _fit(line, limit, measure)
        n = measure(line) + (1 if current else 0)
        if current and size + n > limit:
            out.append("\n".join(current))
            current, size = [], 0
            n = measure(line)
        current.append(render(line))
        size += n
    if current and any(c.strip() for c in current):
        out.append("\n".join(current))
    return [c for c in out if c.strip()]


def _fit(line: Line, limit: int, measure: Callable[[Line], int]) -> Line:
    if measure(line) <= limit:
        return line
    kept: list[Span] = []
    room = limit - 1
    for span in line:
        n = measure((span,))
        if n <= room:
            kept.append(span)
            room -= n
            continue
        text = span.text
        while text and measure((Span(text),)) > room:
            text = text[: max(0, len(text) - max(1, len(text) - room))]
        if text:
            kept.append(Span(text, span.style, span.user_id))
        break
    kept.append(Span("…"))
    return tuple(kept)


def telegram_html(rich: Rich) -> list[str]:
    return chunks(rich, limit=TELEGRAM_LIMIT, render=html_line)


def plain(rich: Rich, limit: int) -> list[str]:
    return chunks(rich, limit=limit, render=plain_line)
