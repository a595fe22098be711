"""Guided reports in one group under Telegram's limits: eight members of a village group tap
through guided reports at once, through `tcns run` (python-telegram-bot, inbox, handlers,
SQLite on a file) against the sandbox Bot API enforcing Telegram's limits (30 messages a second,
20 a minute into one group; answers to presses and edits are not counted by the sandbox).

Each member sends `/bao_cao`, presses the Report button under an offer, then "1" for each of
the questions (the indicators with a target) and Record, each press once the previous one
shows on the card (as a person
reads before tapping). Figures: the messages the bot sent into the group per report (edits
and deletions apart), the sandbox's 429s, and the latency of each press: offered to the bot →
its `answerCallbackQuery` accepted, and → the card showing the next step (edited, or for the
Report button sent). Run twice: tcns told Telegram's limits (its default pace, under which
an edit or a deletion takes one of the group's 20 slots a minute as a message does), and tcns
with its group pace lifted, the sandbox still refusing a 21st message in a minute.
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

TELEGRAM_PER_SECOND, TELEGRAM_PER_GROUP_MINUTE = 30, 20


@dataclass(frozen=True)
class Load:
    members: int = 8
    paced: bool = True  # tcns paced at Telegram's limits; False: its group pace lifted


@dataclass
class _Run:
    answered: list[float]
    shown: list[float]


def _text(fake: FakeTelegram, chat: int, message_id: int) -> str:
    return str((fake.message(chat, message_id) or {}).get("text", ""))


def _card(fake: FakeTelegram, chat: int, name: str) -> int | None:
    """The newest message of the bot's in the chat with a flow's buttons and `name`."""
    for sent in reversed(fake.sent):
        if sent.chat_id != chat or sent.method != "sendmessage" or not sent.message_id:
            continue
        if name in _text(fake, chat, sent.message_id) and any(
            guided.action(d) == "v1" for _t, d in fake.buttons(chat, sent.message_id)
        ):
            return sent.message_id
    return None


def _offer(fake: FakeTelegram, chat: int, since: int) -> int | None:
    """A message sent since `since` that still has the Report button (anyone may press it)."""
    for sent in fake.sent[since:]:
        if sent.chat_id != chat or sent.method != "sendmessage" or not sent.message_id:
            continue
        if any(d == guided.START for _t, d in fake.buttons(chat, sent.message_id)):
            return sent.message_id
    return None


async def _press(
    fake: FakeTelegram, chat: int, user: int, message_id: int, data: str, run: _Run, name: str
) -> int:
    """Presses; returns the card once it shows the step the press led to."""
    start = data == guided.START
    before = "" if start else _text(fake, chat, message_id)
    query = await fake.user_presses(chat, user, message_id, data)
    pressed = fake.callbacks[query]["pressed_at"]

    def changed() -> int | None:
        if start:
            return _card(fake, chat, name)
        return message_id if _text(fake, chat, message_id) != before else None

    card = await fake.until(changed, within=900)
    run.shown.append(time.monotonic() - pressed)
    await fake.until(lambda: fake.callbacks[query]["answer"] is not None, within=900)
    run.answered.append(fake.callbacks[query]["answered_at"] - pressed)
    return card


async def _member(fake: FakeTelegram, chat: int, user: int, name: str, run: _Run) -> None:
    since = len(fake.sent)
    await fake.user_sends(chat, user, "/bao_cao")
    offer = await fake.until(lambda: _offer(fake, chat, since), within=900)
    card = await _press(fake, chat, user, offer, guided.START, run, name)
    for _step in range(12):
        data = [d for _t, d in fake.buttons(chat, card)]
        record = next((d for d in data if guided.action(d) == "ok"), None)
        if record is not None:
            await _press(fake, chat, user, card, record, run, name)
            return
        one = next(d for d in data if guided.action(d) == "v1")
        await _press(fake, chat, user, card, one, run, name)
    raise RuntimeError(f"{name}'s guided report did not reach its confirmation")


def _ms(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


async def measure(load: Load, workdir: Path) -> dict[str, float]:
    url = await fresh_database(workdir / "guided.db")
    fake = await FakeTelegram(
        global_per_second=TELEGRAM_PER_SECOND, group_per_minute=TELEGRAM_PER_GROUP_MINUTE
    ).start()
    [chat] = await link_groups(url, fake, communes=1, per=1, households=1_000_000)
    await settle_rounds(url)
    env = bot_env(fake, url)
    env["TCNS_SEND_PER_SECOND"] = str(TELEGRAM_PER_SECOND)
    pace = TELEGRAM_PER_GROUP_MINUTE if load.paced else UNLIMITED
    env["TCNS_SEND_PER_GROUP_MINUTE"] = str(pace)
    members = {30_000_000 + n: f"TV{n:02d}" for n in range(1, load.members + 1)}
    for user, name in members.items():
        fake.add_user(user, "Thành viên", name)
    log = workdir / f"guided-{'paced' if load.paced else 'lifted'}.log"
    proc = await spawn(["-m", "bot", "run"], env=env, log=log)
    run = _Run([], [])
    try:
        await asyncio.wait_for(fake.until(lambda: fake.commands.get(None), within=60), 90)
        since = len(fake.sent)
        started = time.monotonic()
        await asyncio.gather(*(_member(fake, chat, u, n, run) for u, n in members.items()))
        seconds = time.monotonic() - started
        calls = [s for s in fake.sent[since:] if s.chat_id == chat]
    finally:
        await stop(proc)
        await fake.stop()
    too_many = sum(1 for e in fake.errors if e[1] == 429)
    if len(fake.errors) > too_many:
        raise RuntimeError(f"the server refused calls: {fake.errors[:3]}")

    def per_report(method: str) -> float:
        return sum(1 for s in calls if s.method == method) / load.members

    return {
        "reports": float(load.members),
        "presses": float(len(run.answered)),
        "seconds for all": seconds,
        "messages sent per report": per_report("sendmessage"),
        "edits per report": per_report("editmessagetext") + per_report("editmessagereplymarkup"),
        "deletions per report": per_report("deletemessage"),
        "answers of 429": float(too_many),
        "press → answered p50 (s)": _ms(run.answered, 50) / 1000,
        "press → answered max (s)": max(run.answered),
        "press → card p50 (s)": _ms(run.shown, 50) / 1000,
        "press → card max (s)": max(run.shown),
    }


async def measure_both(
    members: int, workdir: Path, *, paced: bool = True
) -> list[tuple[str, dict[str, float]]]:
    """Paced as deployed (unless not `paced`: minutes of waiting for a smoke run), then with
    the group pace lifted."""
    table = []
    if paced:
        figures = await measure(Load(members, paced=True), workdir)
        table.append((f"{members} members, tcns at 20/min a group", figures))
    lifted = await measure(Load(members, paced=False), workdir)
    table.append((f"{members} members, tcns's group pace lifted", lifted))
    return table


if __name__ == "__main__":
    import sys
    import tempfile

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    with tempfile.TemporaryDirectory() as tmp:
        for heading, figures in asyncio.run(measure_both(size, Path(tmp))):
            print(heading)  # noqa: T201 (a benchmark prints)
            for name, value in figures.items():
                print(f"  {name}: {value:,.2f}")  # noqa: T201
