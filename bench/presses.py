"""Presses: how soon a button press is answered and the next question shown, through
`tcns run` (python-telegram-bot, inbox, handlers, SQLite on a file) against the sandbox Bot API,
while many members tap through guided reports at once.

Each of `groups` village groups has one member tapping through a guided report: `/bao_cao`, the
Report button, a button for each question, then Record; the next tap leaves when the
previous one's question (or confirmation) is on the server. Telegram wants every press answered
(`answerCallbackQuery`) within seconds; the goal is one. Latency: the press offered to the bot →
its answer accepted, and → the card edited. Sending limits are lifted: this measures the bot.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.groups import fresh_database, link_groups
from bench.ingest import UNLIMITED, bot_env, settle_rounds
from bench.process import spawn, stop
from handlers import guided
from sandbox.telegram import FakeTelegram


@dataclass(frozen=True)
class Load:
    groups: int
    reports: int  # guided reports per group, one after the other


def _ms(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


async def _tap_through(fake: FakeTelegram, chat: int, user: int, answered: list[float],
                       shown: list[float]) -> None:  # fmt: skip
    before = len(fake.messages_to(chat))
    await fake.user_sends(chat, user, "/bao_cao")
    sent = await fake.wait_sent(before + 1, chat_id=chat, within=60)
    offer = sent[-1].message_id or 0
    card = await _press(fake, chat, user, offer, "go", answered, shown, card=None)
    for _question in range(12):
        data = [d for _t, d in fake.buttons(chat, card)]
        record = next((d for d in data if guided.action(d) == "ok"), None)
        if record is not None:
            await _press(fake, chat, user, card, record, answered, shown, card=card)
            return
        one = next(d for d in data if guided.action(d) == "v1")
        await _press(fake, chat, user, card, one, answered, shown, card=card)
    raise RuntimeError("the guided report did not reach its confirmation")


async def _press(
    fake: FakeTelegram,
    chat: int,
    user: int,
    message_id: int,
    data: str,
    answered: list[float],
    shown: list[float],
    *,
    card: int | None,
) -> int:
    """Presses; returns the card once the step's change is on the server."""
    text = str((fake.message(chat, card) or {}).get("text", "")) if card else ""
    query = await fake.user_presses(chat, user, message_id, data)
    pressed = fake.callbacks[query]["pressed_at"]

    def changed() -> int | None:
        if card is not None:
            now = str((fake.message(chat, card) or {}).get("text", ""))
            return card if now != text else None
        for sent in reversed(fake.posts_to(chat)):
            if sent.message_id and any(
                guided.action(d) == "v1" for _t, d in fake.buttons(chat, sent.message_id)
            ):
                return sent.message_id
        return None

    found = await fake.until(changed, within=60)
    shown.append(time.monotonic() - pressed)
    await fake.until(lambda: fake.callbacks[query]["answer"] is not None, within=60)
    answered.append(fake.callbacks[query]["answered_at"] - pressed)
    return found


async def measure(load: Load, workdir: Path) -> dict[str, float]:
    url = await fresh_database(workdir / "presses.db")
    fake = await FakeTelegram(global_per_second=UNLIMITED, group_per_minute=UNLIMITED).start()
    groups = (await link_groups(url, fake, communes=1 + load.groups // 20, per=20,
                                households=1_000_000))[: load.groups]  # fmt: skip
    await settle_rounds(url)
    env = bot_env(fake, url)
    users = {chat: 20_000_000 + n for n, chat in enumerate(groups)}
    for user in users.values():
        fake.add_user(user, "Thành viên", str(user))
    proc = await spawn(["-m", "bot", "run"], env=env, log=workdir / "presses-run.log")
    answered: list[float] = []
    shown: list[float] = []
    try:
        await asyncio.wait_for(fake.until(lambda: fake.commands.get(None), within=60), 90)
        started = time.monotonic()

        async def group(chat: int) -> None:
            for _ in range(load.reports):
                await _tap_through(fake, chat, users[chat], answered, shown)

        await asyncio.gather(*(group(chat) for chat in groups))
        seconds = time.monotonic() - started
    finally:
        await stop(proc)
        await fake.stop()
    if fake.errors:
        raise RuntimeError(f"the server refused {len(fake.errors)} calls: {fake.errors[:3]}")
    return {
        "presses": float(len(answered)),
        "presses/s": len(answered) / seconds,
        "answered p50 (ms)": _ms(answered, 50),
        "answered p95 (ms)": _ms(answered, 95),
        "answered max (ms)": max(answered) * 1000,
        "next question p50 (ms)": _ms(shown, 50),
        "next question p95 (ms)": _ms(shown, 95),
    }


if __name__ == "__main__":
    import sys
    import tempfile

    groups = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(measure(Load(groups, 2), Path(tmp)))
    for name, value in figures.items():
        print(f"{name}: {value:,.1f}")  # noqa: T201 (a benchmark prints)
