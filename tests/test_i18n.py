"""The catalogues: complete, not fuzzy, placeholders intact, and in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers import i18n

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w*)\}")
MARKUP = re.compile(r"</?[a-z]+[^>]*>")


def _catalogue(lang: str):  # type: ignore[no-untyped-def]
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _code_messages() -> set[str]:
    found: set[str] = set()
    for package in ("handlers", "bot", "scheduler", "storage"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, keywords={"_": None, "gettext": None, "N_": None}
        ):
            if isinstance(message, str):
                found.add(message)
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalogue_is_complete(lang: str) -> None:
    cat = _catalogue(lang)
    ids = {m.id for m in cat if m.id}
    missing = _code_messages() - ids
    assert not missing, f"not in {lang}/messages.po (run pybabel extract/update): {missing}"


def test_vietnamese_has_no_untranslated_or_fuzzy_entry() -> None:
    for m in _catalogue("vi"):
        if not m.id:
            continue
        assert m.string, f"untranslated: {m.id!r}"
        assert not m.fuzzy, f"fuzzy: {m.id!r}"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_placeholders_match_and_no_markup(lang: str) -> None:
    for m in _catalogue(lang):
        if not m.id or not m.string:
            continue
        assert sorted(PLACEHOLDER.findall(str(m.id))) == sorted(
            PLACEHOLDER.findall(str(m.string))
        ), m.id
        assert not MARKUP.search(str(m.string)), f"markup in catalogue: {m.string!r}"


def test_language_switch() -> None:
    with i18n.use("vi"):
        assert i18n.gettext("Nothing was recorded.") == "Chưa ghi nhận gì."
    with i18n.use("en"):
        assert i18n.gettext("Nothing was recorded.") == "Nothing was recorded."
    with i18n.use("xx"):
        assert i18n.current() == "vi"
