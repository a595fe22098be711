"""gettext through Babel, with the current language in a ContextVar set per chat or recipient."""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT = "vi"

_current: ContextVar[str] = ContextVar("tcns_locale", default=DEFAULT)


@cache
def catalogue(lang: str) -> _gettext.NullTranslations:
    """Compiled in memory from the shipped .po, so the package needs no build step for it."""
    path = resources.files("locales") / lang / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    buf = BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def current() -> str:
    return _current.get()


@contextmanager
def use(lang: str | None) -> Iterator[str]:
    token = _current.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return catalogue(_current.get()).gettext(message)


_ = gettext


def N_(message: str) -> str:
    """Marks a string for extraction; translated later, where the language is known."""
    return message
