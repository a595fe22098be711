"""Dialogues with the handlers, as a chat would have them, without any platform."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from handlers import router, sheets
from handlers.incoming import ChatKind, Deps, Document, Incoming, Reply


def shown(replies: list[Reply]) -> str:
    """What a chat shows of the replies: their texts (not menus, deletions or answers)."""
    return "\n".join(r.rich.plain() for r in replies if r.is_message and r.rich.lines)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Person:
    id: str
    name: str


@dataclass
class ChatRoom:
    deps: Deps
    chat_id: str
    kind: ChatKind = "group"
    title: str | None = None
    buttons: bool = True  # the platform shows buttons (False: Zalo, the console)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    texts: dict[int, str] = field(default_factory=dict)

    async def send(
        self, who: Person, text: str, *, reply_to: Person | None = None
    ) -> tuple[int, list[Reply]]:
        message_id = next(self._ids)
        self.texts[message_id] = text
        replies = await router.handle(self.deps, self._incoming(who, text, message_id, reply_to))
        return message_id, replies

    async def send_reply(
        self, who: Person, text: str, *, to_bot: str, under: tuple[str, ...] = ()
    ) -> str:
        """Sends `text` as a reply to the bot's message `to_bot` (with buttons whose data is
        `under`); returns what is shown."""
        _id, replies = await self.reply_to(who, text, to_bot=to_bot, under=under)
        return shown(replies)

    async def reply_to(
        self, who: Person, text: str, *, to_bot: str, under: tuple[str, ...] = ()
    ) -> tuple[int, list[Reply]]:
        message_id = next(self._ids)
        self.texts[message_id] = text
        msg = replace(
            self._incoming(who, text, message_id, None), reply_to_bot=to_bot, reply_to_data=under
        )
        return message_id, await router.handle(self.deps, msg)

    async def say(self, who: Person, text: str, *, reply_to: Person | None = None) -> str:
        """Sends and returns the replies as plain text."""
        _id, replies = await self.send(who, text, reply_to=reply_to)
        return shown(replies)

    async def send_document(
        self, who: Person, name: str, content: bytes, *, caption: str = ""
    ) -> tuple[int, list[Reply]]:
        """Sends a file with `caption`, read as the transport reads it (bot/transport.py):
        its tables read before the router sees it."""
        message_id = next(self._ids)
        book = await sheets.read_book(name, content)
        document = Document(f"file-{message_id}", name, len(content), content, book.table,
                            others=book.others)  # fmt: skip
        msg = replace(self._incoming(who, caption, message_id, None), document=document)
        return message_id, await router.handle(self.deps, msg)

    async def press(self, who: Person, data: str, *, message_id: int) -> list[Reply]:
        """`who` presses the button with `data` under the bot's message `message_id`."""
        msg = replace(
            self._incoming(who, data, message_id, None), press_id=f"press-{next(self._ids)}"
        )
        return await router.handle(self.deps, msg)

    async def edit(self, who: Person, message_id: int, text: str) -> str:
        msg = self._incoming(who, text, message_id, None, edited=True)
        return shown(await router.handle(self.deps, msg))

    async def redeliver(self, who: Person, message_id: int) -> str:
        msg = self._incoming(who, self.texts[message_id], message_id, None)
        return shown(await router.handle(self.deps, msg))

    def _incoming(
        self,
        who: Person,
        text: str,
        message_id: int,
        reply_to: Person | None,
        *,
        edited: bool = False,
    ) -> Incoming:
        return Incoming(
            platform="tg",
            chat_id=self.chat_id,
            chat_kind=self.kind,
            chat_title=self.title,
            sender_id=who.id,
            sender_name=who.name,
            text=text,
            sent_at=self.deps.clock(),
            message_key=f"{self.chat_id}:{message_id}",
            edited=edited,
            buttons=self.buttons,
            reply_to_id=reply_to.id if reply_to else None,
            reply_to_name=reply_to.name if reply_to else None,
        )
