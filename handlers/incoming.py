"""What a transport hands the handlers, and what it gets back. No platform lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Literal, Protocol

from handlers.flood import FloodGate
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
class Attachment:
    filename: str
    content: bytes
    kind: Literal["photo", "document"]
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    rich: Rich
    # Quote the member's message (in groups, so the answer finds its reporter).
    quote: bool = True
    # A chart or a workbook; the text becomes its caption where the platform has one.
    attachment: Attachment | None = None


class SendOutcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # rate-limited or a passing fault: try again after `retry_after`
    GONE = "gone"  # the chat removed or blocked the bot, or the person never opened it
    MIGRATED = "migrated"  # the group became a supergroup under `new_chat_id`
    FAILED = "failed"  # refused for good (a bad request)


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    retry_after: float = 0.0
    new_chat_id: str | None = None
    error: str | None = None


class Messenger(Protocol):
    """What the scheduler needs of a platform: one post to one chat, and what became of it."""

    def handles(self, chat_id: str) -> bool: ...

    async def deliver(self, chat_id: str, reply: Reply) -> SendResult: ...


def system_clock() -> datetime:
    return datetime.now(UTC)


class Observer(Protocol):
    """Where handlers report what happened, for metrics; the wiring decides what it becomes."""

    def count(self, event: str, label: str = "") -> None: ...


class NoObserver:
    def count(self, event: str, label: str = "") -> None:
        return None


@dataclass
class Deps:
    """Everything handlers need from the wiring, built in bot/ and passed in."""

    sessions: SessionFactory
    superadmins: frozenset[str]
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    clock: Callable[[], datetime] = system_clock
    bot_usernames: set[str] = field(default_factory=set)
    flood: FloodGate = field(default_factory=FloodGate)
    observer: Observer = field(default_factory=NoObserver)
