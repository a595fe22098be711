"""A small world for end-to-end tests: the fake Bot API, its people and groups, and a way to
talk in it and wait for the bot's answer."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from bench.process import stop
from sandbox.telegram import FakeTelegram

ADMIN_ID = 1
HA_LAM = -1001001
BINH_AN = -1001002

PEOPLE = {
    ADMIN_ID: ("Trần Văn", "Quản", "quan_admin"),
    101: ("Nguyễn Thị", "Lan", "lan_nt"),
    102: ("Lê Văn", "Hùng", None),
    103: ('<b>Ánh & "Bé"', None, None),
    201: ("Phạm Thị", "Mai", None),
}


def populate(fake: FakeTelegram) -> None:
    for uid, (first, last, username) in PEOPLE.items():
        fake.add_user(uid, first, last, username)
    fake.add_group(HA_LAM, "Tổ CNS thôn Hà Lam")
    fake.add_group(BINH_AN, "Tổ CNS thôn Bình An")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Talk:
    fake: FakeTelegram

    async def say(
        self, chat: int, user: int, text: str, *, within: float = 10, reply_to: int | None = None
    ) -> str:
        """Sends and waits for the bot's answer in that chat; returns its visible text."""
        before = len(self.fake.messages_to(chat))
        await self.fake.user_sends(chat, user, text, reply_to=reply_to)
        sent = await self.fake.wait_sent(before + 1, chat_id=chat, within=within)
        return sent[-1].text or ""

    async def answer_with(
        self, chat: int, user: int, text: str, expected: str, *, within: float = 10
    ) -> str:
        """Sends and waits for a message of the bot's in that chat holding `expected` (other
        posts may come meanwhile); returns its text, "" when none came in time."""
        before = len(self.fake.messages_to(chat))
        await self.fake.user_sends(chat, user, text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            for sent in self.fake.messages_to(chat)[before:]:
                if expected in (sent.text or ""):
                    return sent.text or ""
            await asyncio.sleep(0.05)
        return ""

    async def edit(self, chat: int, message_id: int, text: str) -> str:
        before = len(self.fake.messages_to(chat))
        await self.fake.user_edits(chat, message_id, text)
        sent = await self.fake.wait_sent(before + 1, chat_id=chat)
        return sent[-1].text or ""

    async def silent(self, chat: int, seconds: float = 1.0) -> bool:
        """True when the bot says nothing more in `chat` for a while."""
        before = len(self.fake.messages_to(chat))
        await asyncio.sleep(seconds)
        return len(self.fake.messages_to(chat)) == before


# SIGTERM, as an operator's service manager sends it; SIGKILL if it has not ended in time.
stop_process = stop
