"""A slice of the `/bao_cao` corpus in a real Telegram setting: `app.start` with
python-telegram-bot against the sandbox Bot API, a privacy-mode group and private chats. The
same judge as tests/test_corpus.py; what was stored is read from the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot import app
from sandbox.telegram import FakeTelegram, Sent
from tests.conftest import lift_group_limit
from tests.corpus import (
    CORPUS,
    LINK,
    NOW,
    VILLAGE,
    Case,
    CorpusError,
    Outcome,
    failure_table,
    figures,
    join_code,
    known_codes,
    load_cases,
    read_stored,
    render_figures,
    withdraw_all,
)
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

SUBSET = 150  # every shape, about a third of the corpus: ~30 s through PTB and the sandbox
USER_BASE = 900_000  # the same member ids as the dialogue run: tg:900000+n for case n
# Seconds to wait for an answer before counting a case unanswered: generous, since a loaded
# machine is slow and only a case that fails waits it out.
ANSWER_WITHIN = 20.0


def subset(cases: Sequence[Case], size: int = SUBSET) -> list[Case]:
    """Every shape and both kinds of chat: the first case of each tag and every private ask or
    refusal, then the second case of each tag, the third, … (asks first: they are the fewest,
    then records, then refusals)."""
    by_tag: dict[str, list[Case]] = {}
    for case in cases:
        by_tag.setdefault(case.why, []).append(case)
    chosen: dict[int, Case] = {v[0].number: v[0] for v in by_tag.values()}
    for case in cases:
        if case.chat == "private" and case.expect != "record":
            chosen[case.number] = case
    order = {"ask": 0, "record": 1, "refuse": 2, "answer": 3}
    later = sorted(by_tag.values(), key=lambda v: order[v[0].expect])
    depth = 1
    while len(chosen) < size and any(len(v) > depth for v in later):
        for tag_cases in later:
            if len(chosen) < size and len(tag_cases) > depth:
                chosen.setdefault(tag_cases[depth].number, tag_cases[depth])
        depth += 1
    return sorted(chosen.values(), key=lambda c: c.number)[:size]


@pytest.fixture
def database_url(db_path: Path) -> str:
    return f"sqlite+aiosqlite:///{db_path}"


@pytest.fixture
async def running(fake: FakeTelegram, database_url: str) -> AsyncIterator[app.Running]:
    fake.clock = NOW.timestamp  # message dates: Friday 20/11/2026 10:00 in Vietnam
    settings = settings_for(fake, database_url)
    started = await app.start(settings, clock=Clock(NOW))
    lift_group_limit(fake, started)
    yield started
    await fake.wake_pollers()
    await started.stop()


def _quoted(sent: Sent) -> int | None:
    reply = sent.params.get("reply_parameters")
    if isinstance(reply, dict):
        value: Any = reply.get("message_id")
        return int(value) if value is not None else None
    return None


async def _answers(fake: FakeTelegram, chat: int, message_id: int, before: int) -> list[str]:
    """What the bot said to the case's message: in a group the messages quoting it (and any
    unquoted continuation), in a private chat everything it sent there since."""

    def mine() -> list[Sent]:
        new = fake.messages_to(chat)[before:]
        if chat > 0:
            return new
        return [s for s in new if _quoted(s) in (message_id, None)]

    deadline = time.monotonic() + ANSWER_WITHIN
    while True:
        seen = len(fake.messages_to(chat))
        left = deadline - time.monotonic()
        if mine() or left <= 0:
            break
        try:
            await fake.wait_sent(seen + 1, chat_id=chat, within=left)
        except TimeoutError:
            break
    if mine():
        await asyncio.sleep(0.1)  # a long answer may come in more than one message
    return [s.text or "" for s in mine()]


async def _run(fake: FakeTelegram, running: app.Running, cases: Sequence[Case]) -> list[Outcome]:
    talk = Talk(fake)
    linked = await talk.say(HA_LAM, ADMIN_ID, LINK)
    if VILLAGE not in linked:
        raise CorpusError(f"could not link the corpus village: {linked!r}")
    code = join_code(await talk.say(HA_LAM, ADMIN_ID, "/ma_tham_gia"))
    codes = known_codes()
    outcomes: list[Outcome] = []
    for case in cases:
        uid = USER_BASE + case.number
        fake.add_user(uid, "Thành viên", str(case.number))
        chat = HA_LAM
        if case.chat == "private":
            chat = uid
            joined = await talk.say(uid, uid, f"/tham_gia {code}")
            if VILLAGE not in joined:
                raise CorpusError(f"case {case.number}: could not join: {joined!r}")
        before = len(fake.messages_to(chat))
        message = await fake.user_sends(chat, uid, case.text)
        replies = await _answers(fake, chat, message["message_id"], before)
        stored, stray = await read_stored(
            running.deps.sessions,
            message_key=f"tg:{chat}:{message['message_id']}",
            person_id=f"tg:{uid}",
        )
        outcomes.append(Outcome(case, replies, stored, stray, codes))
        await withdraw_all(running.deps.sessions, person_id=f"tg:{uid}")
    return outcomes


def test_subset_covers_every_kind_and_shape() -> None:
    cases = load_cases(CORPUS)
    chosen = subset(cases)
    assert len(chosen) == SUBSET
    assert {c.expect for c in chosen} == {c.expect for c in cases}
    assert {c.why for c in chosen} == {c.why for c in cases}
    assert sum(c.chat == "private" for c in chosen) >= 4


async def test_corpus_over_telegram(fake: FakeTelegram, running: app.Running) -> None:
    # The shapes of reports.toml, over python-telegram-bot; volunteers.toml's hundreds of
    # one-of-a-kind messages run through the router (tests/test_corpus.py).
    outcomes = await _run(fake, running, subset(load_cases(CORPUS)))
    fig = figures(outcomes)
    failed = fig.verdicts()
    assert not failed, (
        "\n".join(failed) + "\n\n" + render_figures(fig, outcomes) + "\n" + failure_table(outcomes)
    )
    assert [e for e in fake.errors if e[1] != 429] == []
