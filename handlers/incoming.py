"""What a transport hands the handlers, and what it gets back. No platform lives here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Literal, Protocol

from handlers.flood import FloodGate
from handlers.richtext import Rich
from handlers.sheets import Unreadable
from storage.db import SessionFactory
from storage.folding import safe_name

ChatKind = Literal["private", "group"]


# Seconds since the epoch a message's date may be: up to the year 2500 (the C library refuses
# far larger ones, and no message is dated there); a platform drops an update dated later.
LATEST_DATE = 16_725_225_600
# A person's or chat's name as shown and stored: Telegram allows 128 characters for a title
# and for first and last names together.
NAME_CHARS = 128


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
    # The id of the bot's own message this one replies to (an answer to a guided prompt).
    reply_to_bot: str | None = None
    # The data of the buttons under that message of the bot's (which report a confirmation
    # is of, which reading an offer holds): a reply to it is about that.
    reply_to_data: tuple[str, ...] = ()
    # Whether the platform shows buttons under messages (Zalo does not: questions are text).
    buttons: bool = True
    # A press of one of the bot's buttons rather than a message: the platform's id of the
    # press (answered at once, see `Answer`), `text` is the button's data and `message_key`
    # the message it was under.
    press_id: str | None = None
    # A file sent with the message (its caption is `text`): the transport fetches its content
    # before the router sees it (`Document.content`), outside any transaction.
    document: Document | None = None
    # Someone left the group (Telegram's service message, which reaches bots in privacy
    # mode): their platform-tagged id; `text` is empty.
    left: str | None = None
    # People who joined the group (the same kind of service message, or a chat member
    # update): on the team's roster from now on; `text` is empty.
    joined: tuple[Newcomer, ...] = ()

    def __post_init__(self) -> None:
        # The names a platform gives are people's to choose: made safe here, once, for every
        # platform (storage/folding.py says what that means).
        name = safe_name(self.sender_name, limit=NAME_CHARS) or self.sender_username or "?"
        object.__setattr__(self, "sender_name", name)
        if self.joined:
            object.__setattr__(self, "joined", tuple(
                Newcomer(n.id, safe_name(n.name, limit=NAME_CHARS) or n.username or "?",
                         n.username)
                for n in self.joined
            ))  # fmt: skip
        for name in ("chat_title", "reply_to_name"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, safe_name(value, limit=NAME_CHARS))


@dataclass(frozen=True)
class Newcomer:
    """Someone who joined a group: platform-tagged id, name as the platform gives it."""

    id: str
    name: str
    username: str | None = None


@dataclass(frozen=True)
class Document:
    file_id: str
    name: str
    size: int
    content: bytes | None = None  # None: not fetched (too big, or the platform failed)
    # A workbook's table, read with the content (handlers/sheets.py) outside any transaction,
    # or why it cannot be: the command that uses it never waits for a file while it holds the
    # database.
    table: list[list[object]] | None = None
    unreadable: Unreadable | None = None
    # A workbook's other sheets by name (a members sheet "Thành viên"), read with `table`.
    others: dict[str, list[list[object]]] = field(default_factory=dict)

    MAX_BYTES = 5 * 1024 * 1024  # a province's workbook is a few hundred kilobytes


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # what a press sends back (Telegram allows 1-64 bytes); the address of a link
    # Meaningful only under its own message (undo this report): dropped when several
    # answers are merged into one message.
    personal: bool = False
    # "press" comes back as `data`; "link" opens the address `data`; "app" opens it as a
    # Telegram Mini App (private chats, https only).
    kind: Literal["press", "link", "app"] = "press"


Buttons = tuple[tuple[Button, ...], ...]


def buttons_to_json(buttons: Buttons) -> str | None:
    """Buttons as a stored post keeps them: [[[text, data], …], …]."""
    if not buttons:
        return None
    return json.dumps(
        [[[b.text, b.data] if b.kind == "press" else [b.text, b.data, b.kind] for b in row]
         for row in buttons],
        ensure_ascii=False,
    )  # fmt: skip


def buttons_from_json(data: str | None) -> Buttons:
    if not data:
        return ()
    return tuple(
        tuple(Button(str(b[0]), str(b[1]), kind=b[2] if len(b) > 2 else "press") for b in row)
        for row in json.loads(data)
    )


@dataclass(frozen=True)
class Answer:
    """The answer to a button press: a short notice, or an alert the presser must dismiss."""

    query: str  # the press's id (`Incoming.press_id`)
    text: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Remember:
    """Once sent, the message's id is kept on a guided report (storage/flows.py), so that the
    next step edits or deletes it instead of adding to the chat."""

    flow_id: int
    slot: Literal["card", "ask"]
    ask: int = 0  # which question of the flow this is (`Flow.asks`)


@dataclass(frozen=True)
class Menu:
    """The command menu a person sees in a group, after their rights there changed."""

    person_id: str
    audiences: tuple[str, ...]  # "member", "leader", "admin"


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
    # Inline buttons under the message, where the platform has them.
    buttons: Buttons = ()
    # Ask the quoted person to answer by reply (Telegram's ForceReply, selective), with this
    # hint in their input field.
    ask: str | None = None
    # A keyboard that stays under a private chat's input field.
    keys: tuple[tuple[str, ...], ...] = ()
    # Those of its keys that open a Mini App: label -> address (Telegram, https only).
    key_apps: tuple[tuple[str, str], ...] = ()
    # The private chat's menu button opens this Mini App: (label, address).
    app_menu: tuple[str, str] | None = None
    # Replace this message of the bot's (text and buttons) instead of sending a new one.
    edit: str | None = None
    # Only remove this message of the bot's; the text is not sent.
    delete: str | None = None
    # The answer to the button press being handled; the text is not sent.
    answer: Answer | None = None
    remember: Remember | None = None
    # Only set this person's command menu in the chat; the text is not sent.
    menu: Menu | None = None

    @property
    def is_message(self) -> bool:
        """A message to send or an edit, rather than a deletion, an answer or a menu."""
        return self.delete is None and self.answer is None and self.menu is None

    @property
    def mergeable(self) -> bool:
        """A new message of text (with buttons, perhaps), which may become one message with
        other such replies waiting for the same chat."""
        return (
            self.is_message
            and self.attachment is None
            and self.ask is None
            and not self.keys
            and self.app_menu is None
            and self.edit is None
            and self.remember is None
        )


class SendOutcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # rate-limited or a passing fault: try again after `retry_after`
    # The request went out and no answer came back: whether it arrived is not known.
    UNKNOWN = "unknown"
    GONE = "gone"  # the chat removed or blocked the bot, or the person never opened it
    MIGRATED = "migrated"  # the group became a supergroup under `new_chat_id`
    FAILED = "failed"  # refused for good (a bad request)


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    retry_after: float = 0.0
    new_chat_id: str | None = None
    error: str | None = None
    message_id: str | None = None  # of the (first) message sent


class Messenger(Protocol):
    """What the sender needs of a platform: one message to one chat, and what became of it."""

    def handles(self, chat_id: str) -> bool: ...

    async def ready(self, chat_id: str) -> None:
        """Returns when the chat could take a message (its pace), having let replies gather
        while it could not."""
        ...

    async def deliver(
        self, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> SendResult: ...


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
    # TCNS_PUBLIC_URL (or its default): the base of the web pages' addresses.
    public_url: str = "http://127.0.0.1:8080"
    flood: FloodGate = field(default_factory=FloodGate)
    observer: Observer = field(default_factory=NoObserver)
