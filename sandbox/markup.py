"""Reply markup as the Bot API checks it: inline keyboards, reply keyboards, ForceReply.

Field names and types come from the machine-readable Bot API (`telegram_api.json`); the limits are
the documented ones (callback data 1–64 bytes, a placeholder 1–64 characters) and the ones
Telegram's servers keep without documenting them (at most 8 buttons in a row and 100 in all of an
inline keyboard; 12 in a row and 300 in all of a reply keyboard). The descriptions are Telegram's
own where it has one.
"""

from __future__ import annotations

import re
from typing import Any

INLINE_ROW, INLINE_ALL = 8, 100
REPLY_ROW, REPLY_ALL = 12, 300
CALLBACK_DATA_BYTES = 64
PLACEHOLDER_CHARS = 64
# An inline button does one thing: exactly one of these besides its text (and its looks).
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_INLINE_LOOKS = ("text", "icon_custom_emoji_id", "style")
_REPLY_BUTTON = (
    "text",
    "icon_custom_emoji_id",
    "style",
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)


class MarkupError(Exception):
    """What the Bot API answers 400 with, without its "Bad Request: " prefix."""


def check(markup: Any, *, private: bool = True) -> None:
    """Raises MarkupError when Telegram would refuse `markup` (a parsed `reply_markup`) in a
    private chat or (`private` False) a group, where Mini App buttons are not allowed."""
    if not isinstance(markup, dict):
        raise MarkupError("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _grid(markup["inline_keyboard"], _inline_button, INLINE_ROW, INLINE_ALL, private)
    elif "keyboard" in markup:
        _grid(markup["keyboard"], _reply_button, REPLY_ROW, REPLY_ALL, private)
        _placeholder(markup)
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise MarkupError("force_reply must be True")
        _placeholder(markup)
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise MarkupError("remove_keyboard must be True")
    else:
        raise MarkupError('can\'t find field "inline_keyboard"')


def callback_data(markup: Any) -> set[str]:
    """The callback data of an inline keyboard's buttons (what a press may send)."""
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return set()
    return {
        button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
        if isinstance(button, dict) and isinstance(button.get("callback_data"), str)
    }


def web_app(value: Any, *, private: bool, what: str = "inline keyboard button") -> None:
    """A Mini App: only in a private chat, only at an https address (Telegram's rule)."""
    if not private:
        raise MarkupError("BUTTON_TYPE_INVALID")
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url.startswith("https://"):
        raise MarkupError(f"{what} Web App URL '{url}' is invalid: Only HTTPS links are allowed")


def _url(url: Any) -> None:
    """A link button: a web address a phone can open (Telegram refuses local ones)."""
    match = re.match(r"^(?:https?|tg)://([^/:?#]*)", url) if isinstance(url, str) else None
    host = match.group(1).lower() if match else ""
    if not match or (
        url.startswith("http")
        and (host in ("localhost", "") or host.startswith("127.") or "." not in host)
    ):
        raise MarkupError(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _grid(rows: Any, button: Any, per_row: int, in_all: int, private: bool) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise MarkupError('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if any(len(r) > per_row for r in rows) or sum(len(r) for r in rows) > in_all:
        raise MarkupError("reply markup is too long")
    for row in rows:
        for b in row:
            button(b, private)


def _text(b: Any) -> str:
    if not isinstance(b, dict) or not isinstance(b.get("text"), str):
        raise MarkupError('can\'t parse keyboard button: Field "text" must be of type String')
    if not b["text"].strip():
        raise MarkupError("BUTTON_TEXT_INVALID")
    return str(b["text"])


def _inline_button(b: Any, private: bool) -> None:
    _text(b)
    unknown = set(b) - set(_INLINE_ACTIONS) - set(_INLINE_LOOKS)
    if unknown:
        raise MarkupError(
            f"can't parse inline keyboard button: unknown field {sorted(unknown)[0]}"
        )
    actions = [a for a in _INLINE_ACTIONS if a in b]
    if not actions:
        raise MarkupError(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise MarkupError("can't parse inline keyboard button: only one action may be set")
    data = b.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_BYTES
    ):
        raise MarkupError("BUTTON_DATA_INVALID")
    if "web_app" in b:
        web_app(b["web_app"], private=private)
    if "url" in b:
        _url(b["url"])


def _reply_button(b: Any, private: bool) -> None:
    if isinstance(b, str):  # a bare string is a text button
        b = {"text": b}
    _text(b)
    unknown = set(b) - set(_REPLY_BUTTON)
    if unknown:
        raise MarkupError(f"can't parse keyboard button: unknown field {sorted(unknown)[0]}")
    if "web_app" in b:
        web_app(b["web_app"], private=private, what="keyboard button")


def _placeholder(markup: dict[str, Any]) -> None:
    placeholder = markup.get("input_field_placeholder")
    if placeholder is not None and (
        not isinstance(placeholder, str) or not 1 <= len(placeholder) <= PLACEHOLDER_CHARS
    ):
        raise MarkupError("input field placeholder must be 1-64 characters long")
