"""`tcns demo`: six weeks of a commune's teams in under a minute, offline.

The real bot (python-telegram-bot, inbox, handlers, SQLite, outbox) talks over HTTP to the
sandbox Bot API started in this process. Xã Thăng Bình (Đà Nẵng) links six village groups, the
teams report on simulated days, make mistakes the bot refuses and correct them by editing, and
the scheduled jobs run at their simulated times. The conversation is printed as it happens and
kept in `demo-output/` with the leaderboard chart and the Excel workbook.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot import app, pages
from bot.settings import Settings
from handlers import guided
from handlers.periods import local_date
from handlers.weblinks import Pass
from sandbox.telegram import FakeTelegram, Sent
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage import people, units

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_MONDAY = date(2026, 10, 5)
WEEKS = 6
ADMIN = 1  # the commune's official, a superadmin of this sandbox
COMMUNE_GROUP = -1002079100
VILLAGES = [  # name, households, team size, how keen the team is (reports a week per member)
    ("Thôn Hà Lam", 520, 8, 1.3),
    ("Thôn Bình An", 410, 7, 1.1),
    ("Thôn Quý Thạnh", 365, 6, 0.9),
    ("Thôn Phú Mỹ", 600, 8, 1.0),
    ("Thôn Tú Cẩm", 300, 5, 0.8),
    ("Thôn Bình Trúc", 450, 6, 0.6),
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Đức", "Thu", "Quốc", "Thanh"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long",
         "Mai", "Nam", "Nga", "Phúc", "Quang", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn",
         "Vy"]  # fmt: skip
MISTAKES = [  # (what was typed, what it should have been: "{ho}" is filled in)
    ("/bao_cao ho=năm", "/bao_cao ho={ho}"),
    ("/bao_cao ho={ho},5", "/bao_cao ho={ho}"),
    ("/bao_cao ho=-{ho}", "/bao_cao ho={ho}"),
    ("/bao_cao số hộ 350", "/bao_cao ho={ho}"),
]
INDICATOR_ORDER = ["ho", "app", "tt", "cks", "dvc", "tmdt"]  # the national plan's
GUIDED_A_WEEK = 2  # reports each week made by tapping through the questions


@dataclass
class SimClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()


@dataclass
class Transcript:
    out: TextIO
    file: TextIO
    colour: bool
    lines: int = 0
    reports: int = 0
    refused: int = 0
    posts: int = 0

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def write(self, text: str, code: str = "0") -> None:
        self.file.write(text + "\n")
        self.out.write(self._paint(code, text) + "\n")
        self.lines += 1

    def heading(self, text: str) -> None:
        self.write("")
        self.write(f"═══ {text} ═══", "1;36")

    def said(self, when: datetime, where: str, who: str, text: str) -> None:
        self.write(f"[{when:%a %d/%m %H:%M}] {where} · {who}: {text}", "1;33")

    def bot(self, sent: Sent, where: str) -> None:
        kind = {"sendphoto": "📊 ", "senddocument": "📎 "}.get(sent.method, "")
        body = (sent.text or "").strip() or sent.params.get("document", {}).get("filename", "")
        given = sent.params.get("reply_markup")
        markup = json.loads(given) if isinstance(given, str) else given or {}
        keys = " ".join(f"[{b['text']}]" for row in markup.get("inline_keyboard", []) for b in row)
        if keys:
            body += f"\n{keys}"
        indent = "\n".join("    " + line for line in f"{kind}{body}".splitlines())
        self.write(f"  🤖 → {where}:\n{indent}", "32" if "⚠️" not in body else "31")

    def progress(self, week: int, label: str) -> None:
        done = int(30 * week / WEEKS)
        bar = "█" * done + "░" * (30 - done)
        self.write(
            f"[{bar}] week {week}/{WEEKS} {label} · reports {self.reports}, "
            f"refused {self.refused}, scheduled posts {self.posts}",
            "1;35",
        )


@dataclass
class Member:
    user_id: int
    name: str
    group: int
    village: str


@dataclass
class World:
    fake: FakeTelegram
    clock: SimClock
    log: Transcript
    running: app.Running
    names: dict[int, str] = field(default_factory=dict)  # chat id -> what to call it

    async def say(
        self, chat: int, user: int, text: str, *, reply_to: int | None = None
    ) -> tuple[int, list[Sent]]:
        """A person writes; returns the message id and what the bot answered in that chat."""
        before = len(self.fake.posts_to(chat))
        self.log.said(self.clock.now, self.names[chat], self.fake.users[user].first_name, text)
        message = await self.fake.user_sends(chat, user, text, reply_to=reply_to)
        return message["message_id"], await self._answers(chat, before)

    async def edit(self, chat: int, user: int, message_id: int, text: str) -> list[Sent]:
        before = len(self.fake.posts_to(chat))
        who = self.fake.users[user].first_name
        self.log.said(self.clock.now, self.names[chat], who, f"✏️ (sửa tin) {text}")
        await self.fake.user_edits(chat, message_id, text)
        return await self._answers(chat, before)

    async def _answers(self, chat: int, before: int) -> list[Sent]:
        await self.fake.wait_sent_to(chat, before + 1, within=30)
        await asyncio.sleep(0.05)  # a reply split in parts arrives together
        new = self.fake.posts_to(chat)[before:]
        for sent in new:
            self.log.bot(sent, self.names[chat])
        return new

    async def guided(self, member: Member, values: dict[str, int]) -> None:
        """A member who would rather tap than type: the Report button, one question at a
        time (a common figure by button, another by replying, skipping what was not done),
        then Record."""
        chat, user = member.group, member.user_id
        _id, answers = await self.say(chat, user, "/bao_cao")
        offer = answers[-1].message_id or 0
        await self.press(chat, user, offer, "go", "📝 Báo cáo")
        for _step in range(20):
            card = self._card(chat, member.name)
            text = self._text(chat, card)
            if "Sẽ ghi" in text:
                await self.press(chat, user, card, self._data(chat, card, "ok"), "✅ Ghi")
                return
            found = re.search(r"câu (\d+)/", text)
            if found is None:
                return
            code = INDICATOR_ORDER[int(found.group(1)) - 1]
            value = values.get(code)
            if value is None:
                await self.press(chat, user, card, self._data(chat, card, "s"), "⏭ Bỏ qua")
            elif value in (0, 1, 2, 3, 5, 10):
                await self.press(chat, user, card, self._data(chat, card, f"v{value}"), str(value))
            else:
                # Another number: "Gõ số" asks for it by reply (in a group only then).
                typed = self._data(chat, card, "t")
                await self.press(chat, user, card, typed, "✍️ Gõ số")
                shown = self._text(chat, card)
                ask = await self.fake.until(
                    functools.partial(self._ask, chat, text.split("\n")[1])
                )
                await self._reply(chat, user, ask, f"{value} hộ", card, shown)

    async def press(self, chat: int, user: int, message_id: int, data: str, label: str) -> None:
        before = len(self.fake.posts_to(chat))
        who = self.fake.users[user].first_name
        self.log.said(self.clock.now, self.names[chat], who, f"👆 [{label}]")
        query = await self.fake.user_presses(chat, user, message_id, data)
        await self.fake.until(lambda: self.fake.callbacks[query]["answer"] is not None)
        await self.fake.wait_sent_to(chat, before + 1, within=30)
        await asyncio.sleep(0.05)  # the question that goes with it
        self._log_posts(chat, before)

    async def _reply(
        self, chat: int, user: int, ask: int, text: str, card: int, shown: str
    ) -> None:
        before = len(self.fake.posts_to(chat))
        who = self.fake.users[user].first_name
        self.log.said(self.clock.now, self.names[chat], who, f"↩️ {text}")
        await self.fake.user_sends(chat, user, text, reply_to=ask)
        await self.fake.until(lambda: self._text(chat, card) != shown)
        await asyncio.sleep(0.05)
        self._log_posts(chat, before)

    def _log_posts(self, chat: int, before: int) -> None:
        for sent in self.fake.posts_to(chat)[before:]:
            if sent.method != "deletemessage":
                self.log.bot(sent, self.names[chat])

    def _card(self, chat: int, name: str) -> int:
        for sent in reversed(self.fake.posts_to(chat)):
            mid = sent.message_id or 0
            if name in self._text(chat, mid) and any(
                d.startswith("g") for _t, d in self.fake.buttons(chat, mid)
            ):
                return mid
        return 0

    def _ask(self, chat: int, question: str) -> int | None:
        for sent in reversed(self.fake.posts_to(chat)):
            mid = sent.message_id or 0
            if question in self._text(chat, mid) and "Trả lời tin này" in self._text(chat, mid):
                return mid
        return None

    def _text(self, chat: int, message_id: int) -> str:
        return str((self.fake.message(chat, message_id) or {}).get("text", ""))

    def _data(self, chat: int, message_id: int, action: str) -> str:
        buttons = self.fake.buttons(chat, message_id)
        return next((d for _t, d in buttons if guided.action(d) == action), "")

    async def jobs_at(self, moment: datetime) -> None:
        """What the scheduler does at `moment`: queue what is due, then send it."""
        self.clock.now = moment
        # Counted before: the bot's own sender starts on the posts as soon as they are queued.
        before = len(self.fake.sent)
        queued = await jobs.run_due(self.running.deps, moment)
        if not queued:
            return
        telegram = self.running.telegram
        assert telegram is not None  # noqa: S101 (the demo runs Telegram)
        await OutboxSender(self.running.deps, [telegram], now=self.clock).drain()
        self.log.write("")
        self.log.write(f"⏰ {moment:%a %d/%m %H:%M}: {queued} scheduled posts", "1;34")
        for sent in self.fake.sent[before:]:
            self.log.bot(sent, self.names.get(sent.chat_id or 0, str(sent.chat_id)))
        self.log.posts += len(self.fake.sent) - before


def _people(rng: random.Random) -> Iterator[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    while True:
        first = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)}"
        given = rng.choice(GIVEN)
        if (first, given) not in seen:
            seen.add((first, given))
            yield first, given


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


async def _setup(world: World, rng: random.Random) -> list[Member]:
    fake, log = world.fake, world.log
    fake.add_user(ADMIN, "Trần Văn Quản", "(UBND xã)")
    fake.users[ADMIN].started = True
    fake.add_group(COMMUNE_GROUP, "Tổ CNS xã Thăng Bình")
    world.names[COMMUNE_GROUP] = "Tổ CNS xã Thăng Bình"
    names = _people(rng)
    members: list[Member] = []
    log.heading("Ngày 1 — xã liên kết các nhóm / day 1: the commune links its groups")
    world.clock.now = _at(FIRST_MONDAY, 8)
    await world.say(COMMUNE_GROUP, ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    next_user = 100
    for n, (village, households, size, _keen) in enumerate(VILLAGES):
        chat = -1002079101 - n
        fake.add_group(chat, f"Tổ CNS {village}")
        world.names[chat] = village
        await world.say(chat, ADMIN, f"/lien_ket xa=20791 thon={village} ho={households}")
        for _ in range(size):
            first, given = next(names)
            fake.add_user(next_user, f"{first} {given}")
            members.append(Member(next_user, f"{first} {given}", chat, village))
            next_user += 1
        for m in members[-size:]:  # about half have opened a private chat with the bot
            fake.users[m.user_id].started = rng.random() < 0.5
        leader = next(m for m in members if m.group == chat)
        fake.users[leader.user_id].started = True  # leaders get their weekly summary
        message_id, _ = await world.say(chat, leader.user_id, "/bao_cao ho=3 app=2")
        world.log.reports += 1
        await world.say(chat, ADMIN, "/to_truong", reply_to=message_id)
    return members


def _report(rng: random.Random, keen: float) -> str:
    ho = rng.randint(1, max(2, int(6 * keen)))
    parts = [f"ho={ho}"]
    for code, share in (("app", 0.7), ("tt", 0.6), ("cks", 0.3)):
        count = sum(1 for _ in range(ho) if rng.random() < share)
        if count:
            parts.append(f"{code}={count}")
    if rng.random() < 0.2:
        parts.append(rng.choice(["dvc=1", 'ghi chú "hộ ông Tư ở xa, hẹn lại"']))
    return "/bao_cao " + " ".join(parts)


async def _week(world: World, members: list[Member], rng: random.Random, week: int) -> None:
    monday = FIRST_MONDAY + timedelta(weeks=week)
    keen = {v: k for v, _h, _s, k in VILLAGES}
    world.log.heading(f"Tuần {week + 1} / week {week + 1}: {monday:%d/%m} – "
                      f"{monday + timedelta(days=6):%d/%m}")  # fmt: skip
    plan: list[tuple[datetime, Member]] = []
    for member in members:
        # Keen teams report more; everyone slows down a little late in the campaign.
        times = rng.random() * 2 * keen[member.village] * (1.0 - 0.05 * week)
        for _ in range(int(times + rng.random())):
            day = monday + timedelta(days=rng.randrange(6))
            plan.append((_at(day, rng.randint(7, 20), rng.randrange(60)), member))
    plan.sort(key=lambda item: item[0])
    for n, (moment, member) in enumerate(plan):
        if moment.weekday() == 4 and moment.hour >= 16:
            await world.jobs_at(_at(moment.date(), 16))
        world.clock.now = moment
        text = _report(rng, keen[member.village])
        if n < GUIDED_A_WEEK:
            values = dict(re.findall(r"(\w+)=(\d+)", text))
            await world.guided(member, {k: int(v) for k, v in values.items()})
        elif rng.random() < 0.08:  # a slip of the thumb, then the fix by editing the message
            wrong, right = rng.choice(MISTAKES)
            ho = rng.randint(1, 4)
            message_id, _ = await world.say(member.group, member.user_id, wrong.format(ho=ho))
            world.log.refused += 1
            world.clock.now = moment + timedelta(minutes=2)
            await world.edit(member.group, member.user_id, message_id, right.format(ho=ho))
        else:
            await world.say(member.group, member.user_id, text)
        world.log.reports += 1
    await world.jobs_at(_at(monday + timedelta(days=4), 16))  # Friday's reminder
    await world.jobs_at(_at(monday + timedelta(days=7), 8))  # Monday: boards and summaries
    world.log.progress(week + 1, "done")


async def _finale(world: World, members: list[Member], out: Path) -> None:
    world.log.heading("Cuối đợt / the end: progress, ranking, workbook")
    world.clock.now = _at(FIRST_MONDAY + timedelta(weeks=WEEKS), 9)
    first = members[0]
    await world.say(first.group, first.user_id, "/tien_do")
    await world.say(COMMUNE_GROUP, ADMIN, "/tien_do")
    await world.say(COMMUNE_GROUP, ADMIN, "/xep_hang")
    await world.say(COMMUNE_GROUP, ADMIN, "/xuat")
    photos = [s for s in world.fake.sent if s.method == "sendphoto" and s.content]
    if photos:
        (out / "leaderboard.png").write_bytes(photos[-1].content or b"")
    documents = [s for s in world.fake.sent if s.method == "senddocument" and s.content]
    if documents:
        name = documents[-1].params.get("document", {}).get("filename", "tcns.xlsx")
        safe = re.sub(r"[^\w.-]", "_", str(name)) or "tcns.xlsx"
        (out / safe).write_bytes(documents[-1].content or b"")
    await _dashboard(world, out)


async def _dashboard(world: World, out: Path) -> None:
    """The commune's dashboard as it stood at the end, as one file that needs no server."""
    deps = world.running.deps
    async with deps.sessions() as session:
        chat = await people.get_chat(session, chat_id=f"tg:{COMMUNE_GROUP}")
        unit = await units.get(session, unit_id=chat.unit_id) if chat and chat.unit_id else None
    if unit is None or unit.id is None:
        return
    now = world.clock()
    granted = Pass(unit.id, "admin", now, deps.default_locale)
    html = await pages.dashboard_html(
        deps,
        unit=unit,
        granted=granted,
        today=local_date(now, ZoneInfo(deps.timezone)),
        secret=None,
        offline=True,
    )
    (out / "dashboard.html").write_text(html, encoding="utf-8")
    world.log.write(f"Dashboard of {unit.name}: {out / 'dashboard.html'}")


def prepare_output(out: Path) -> None:
    """A fresh folder: the demo's database starts empty every time."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        if old.is_file():
            old.unlink()


async def run_demo(out: Path, *, seed: int = 2026, stream: TextIO = sys.stdout) -> int:
    """Runs the demo into `out` (made empty by `prepare_output` first)."""
    started = time.monotonic()
    clock = SimClock(_at(FIRST_MONDAY, 7))
    colour = stream.isatty() and "NO_COLOR" not in os.environ
    fake = await FakeTelegram(
        global_per_second=1_000_000, group_per_minute=1_000_000, clock=clock.epoch
    ).start()
    settings = Settings(
        _env_file=None,
        telegram_token=SecretStr(fake.token),
        telegram_api_url=fake.url,
        database_url=f"sqlite+aiosqlite:///{out / 'demo.db'}",
        superadmins=f"tg:{ADMIN}",
        http_port=0,
        send_per_second=1_000_000,
        send_per_group_minute=1_000_000,
        send_per_private_second=1_000_000,
    )
    with (out / "transcript.txt").open("w", encoding="utf-8") as file:
        log = Transcript(stream, file, colour)
        log.write("tcns demo — Xã Thăng Bình, Đà Nẵng: six villages, six weeks, offline", "1")
        log.write(f"(a local Bot API sandbox on {fake.url}; nothing leaves this computer)")
        running = await app.start(settings, schedule=False, clock=clock)
        world = World(fake, clock, log, running)
        try:
            rng = random.Random(seed)  # noqa: S311 (made-up villages, not secrets)
            members = await _setup(world, rng)
            for week in range(WEEKS):
                await _week(world, members, rng, week)
            await _finale(world, members, out)
        finally:
            await running.stop()
            await fake.stop()
        # A 403 is a member who never opened the bot: Telegram forbids writing first, and the
        # bot names them in their group instead. Anything else the server refused is a bug.
        private = [e for e in fake.errors if e[1] == 403]
        refused = [e for e in fake.errors if e[1] != 403]
        log.write("")
        log.write(
            f"Done in {time.monotonic() - started:.0f} s: {log.reports} reports "
            f"({log.refused} refused and corrected), {log.posts} scheduled posts, "
            f"{len(fake.sent)} messages from the bot; {len(private)} private messages Telegram "
            f"refused (those members never opened the bot), {len(refused)} other refusals.",
            "1",
        )
        log.write(
            f"Output: {out}/ (dashboard.html, leaderboard.png, the workbook, transcript.txt, "
            "demo.db)"
        )
        for error in refused:
            log.write(f"refused: {error}", "31")
    return 0 if not refused else 1
