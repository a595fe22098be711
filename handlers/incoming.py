"""What a transport hands the handlers, and what it gets back. No platform lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from handlers.richtext import Rich
from storage.db import SessionFactory

ChatKind = Literal["private", "group"]


@dataclass(frozen=True)
class Incoming:
    platform: str  # "tg", "zalo", "console"
    chat_id: str  # platform-tagged: "tg:-1001234"
    chat_kind: ChatKind
    sender_id: str  # platform-tagged: "tg:12345"
    sender_name: str
    text: str
    sent_at: datetime  # aware
    message_key: str  # "<chat id>:<message id>", stable across edits
    chat_title: str | None = None
    sender_username: str | None = None
    edited: bool = False
    # The platform's id of this delivery (Telegram's update_id); a second delivery is dropped.
    update_key: str | None = None
    # The author of the message this one replies to, for commands given "as a reply".
    reply_to_id: str | None = None
    reply_to_name: str | None = None


@dataclass(frozen=True)
class Reply:
    rich: Rich
    # Quote the member's message (in groups, so the answer finds its reporter).
    quote: bool = True


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """Everything handlers need from the wiring, built in bot/ and passed in."""

    sessions: SessionFactory
    superadmins: frozenset[str]
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    clock: Callable[[], datetime] = system_clock
    bot_usernames: set[str] = field(default_factory=set)
