"""A small rich-text model: handlers say what is bold or a mention, transports say how.

Catalogues hold no markup; `fmt` splits a translated template at its `{placeholders}` and puts
the given spans there, so a name in bold stays a span and is escaped by the renderer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, cast

Style = Literal["plain", "bold", "italic", "code"]


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = "plain"
    user_id: str | None = None  # set for a mention of that person


Line = tuple[Span, ...]


def b(text: str) -> Span:
    return Span(text, "bold")


def i(text: str) -> Span:
    return Span(text, "italic")


def code(text: str) -> Span:
    return Span(text, "code")


def mention(user_id: str, name: str) -> Span:
    return Span(name, "plain", user_id)


def joined(spans: list[Span], separator: str = ", ") -> Line:
    """Spans with a separator between them: a list of names, each its own mention."""
    out: list[Span] = []
    for n, span in enumerate(spans):
        if n:
            out.append(Span(separator))
        out.append(span)
    return tuple(out)


_FIELD = re.compile(r"\{(\w+)\}")


def fmt(template: str, **values: str | int | Span) -> Line:
    parts: list[Span] = []
    pos = 0
    for m in _FIELD.finditer(template):
        if m.start() > pos:
            parts.append(Span(template[pos : m.start()]))
        value = values[m.group(1)]
        parts.append(value if isinstance(value, Span) else Span(str(value)))
        pos = m.end()
    if pos < len(template):
        parts.append(Span(template[pos:]))
    return tuple(parts)


@dataclass
class Rich:
    lines: list[Line] = field(default_factory=list)

    def add(self, *parts: Span | str | Line) -> Rich:
        line: list[Span] = []
        for part in parts:
            if isinstance(part, Span):
                line.append(part)
            elif isinstance(part, str):
                line.append(Span(part))
            else:
                line.extend(part)
        self.lines.append(tuple(line))
        return self

    def blank(self) -> Rich:
        self.lines.append(())
        return self

    def extend(self, other: Rich) -> Rich:
        self.lines.extend(other.lines)
        return self

    def plain(self) -> str:
        return "\n".join("".join(s.text for s in line) for line in self.lines)

    def to_json(self) -> str:
        """Platform-neutral, so a stored post is rendered for whichever chat it goes to."""
        return json.dumps(
            [[[sp.text, sp.style, sp.user_id] for sp in line] for line in self.lines],
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, data: str) -> Rich:
        raw: list[list[list[Any]]] = json.loads(data)
        return cls(
            [
                tuple(
                    Span(str(t), cast(Style, st), u if u is None else str(u)) for t, st, u in line
                )
                for line in raw
            ]
        )
