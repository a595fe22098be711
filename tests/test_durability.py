"""A report is a volunteer's afternoon: kill the bot mid-burst, start it again, and every report
is stored exactly once and its receipt delivered (at least once: one cut off mid-send says it is
sent again); the database away for twenty seconds, and every member who wrote meanwhile is told
once not to send again, and answered once it is back."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox.telegram import FakeTelegram
from storage import db
from tests.tg_world import ADMIN_ID, HA_LAM, Talk, free_port, stop_process

log = logging.getLogger(__name__)

REPORTS = 120
MEMBERS = list(range(800, 830))
RECEIPT = "Đã ghi cho"
NOTICE = "Hệ thống đang bận"


def receipts(fake: FakeTelegram, chat: int) -> int:
    """Receipts delivered into the chat (several may share a message)."""
    return sum((s.text or "").count(RECEIPT) for s in fake.messages_to(chat))


async def _counts(url: str) -> tuple[int, int]:
    """(reports stored, the village's running total of households guided)."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            reports = (await conn.execute(text("SELECT count(*) FROM report"))).scalar_one()
            total = (
                await conn.execute(
                    text(
                        "SELECT coalesce(sum(t.value), 0) FROM unit_total t "
                        "JOIN unit u ON u.id = t.unit_id JOIN indicator i ON i.id = t.indicator_id"
                        " WHERE u.level = 'village' AND t.period = 'all' AND i.code = 'ho'"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return int(reports), int(total)


async def _start(fake: FakeTelegram, url: str, tmp_path: Path, port: int, webhook: bool
                 ) -> asyncio.subprocess.Process:  # fmt: skip
    env = {
        **os.environ,
        "TCNS_TELEGRAM_TOKEN": fake.token,
        "TCNS_TELEGRAM_API_URL": fake.url,
        "TCNS_DATABASE_URL": url,
        "TCNS_SUPERADMINS": f"tg:{ADMIN_ID}",
        "TCNS_HTTP_PORT": str(port),
    }
    if webhook:
        env["TCNS_WEBHOOK_BASE_URL"] = f"http://127.0.0.1:{port}"
        env["TCNS_WEBHOOK_SECRET"] = "durability-test-secret"
    with (tmp_path / "bot.log").open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stdout=out, stderr=out
        )


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_sigkill_mid_burst_loses_and_doubles_nothing(
    fake: FakeTelegram, database_url: str, tmp_path: Path, webhook: bool
) -> None:
    fake.group_per_minute = 10_000  # about storage, not pacing
    for uid in MEMBERS:
        fake.add_user(uid, f"Thành viên {uid}")
    port = free_port()
    first = await _start(fake, database_url, tmp_path, port, webhook)
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000", within=60)

    for n in range(REPORTS):
        # A count of filings of its own each: the same figures again would be asked about.
        await fake.user_sends(HA_LAM, MEMBERS[n % len(MEMBERS)], f"/bao_cao ho=1 dvc={n + 1}")
    async with asyncio.timeout(60):
        while (await _counts(database_url))[0] < REPORTS // 3:  # noqa: ASYNC110 (another process writes)
            await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = (await _counts(database_url))[0]
    if not webhook:
        await fake.redeliver_last()  # Telegram also sends again what it is unsure of

    second = await _start(fake, database_url, tmp_path, port, webhook)
    try:
        async with asyncio.timeout(90):
            while (await _counts(database_url))[0] < REPORTS:  # noqa: ASYNC110 (another process writes)
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # anything doubled would show up now
        stored, total = await _counts(database_url)
        # Every stored report's receipt is delivered, those of the killed process's too.
        await fake.until(lambda: receipts(fake, HA_LAM) >= REPORTS, within=90)
    finally:
        await stop_process(second)
    log.info("%s: %d reports, %d stored at the kill, after restart %d stored, total %d",
             "webhook" if webhook else "polling", REPORTS, at_kill, stored, total)  # fmt: skip
    assert at_kill < REPORTS
    assert stored == REPORTS  # none lost, none doubled
    assert total == REPORTS


OUTAGE_SECONDS = 20


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_database_outage_mid_burst(
    fake: FakeTelegram, database_url: str, tmp_path: Path, webhook: bool
) -> None:
    """PostgreSQL out of reach (the connection cut, new ones refused) for 20 s in the middle
    of a burst: webhook calls answer 503 and Telegram retries (polling confirms nothing), the
    inbox waits; every member who wrote meanwhile hears once not to send again; every report is
    stored once and answered once the database is back."""
    from sqlalchemy.engine import make_url

    from tests.tcp_proxy import CuttableProxy

    url = make_url(database_url)
    proxy = await CuttableProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )
    fake.group_per_minute = 10_000
    for uid in MEMBERS:
        fake.add_user(uid, f"Thành viên {uid}")
    port = free_port()
    bot = await _start(fake, through_proxy, tmp_path, port, webhook=webhook)
    try:
        talk = Talk(fake)
        await talk.say(
            HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000", within=60
        )
        half = REPORTS // 2
        for n in range(half):
            text = f"/bao_cao ho=1 dvc={n + 1}"  # no two the same: none is a resend
            await fake.user_sends(HA_LAM, MEMBERS[n % len(MEMBERS)], text)
        async with asyncio.timeout(60):
            while (await _counts(database_url))[0] < half:  # noqa: ASYNC110 (another process writes)
                await asyncio.sleep(0.05)
        proxy.cut()
        # Ten members report while the database is away, twice each.
        during = MEMBERS[:10]
        for k, uid in enumerate(during * 2):
            await fake.user_sends(HA_LAM, uid, f"/bao_cao ho=1 dvc={1000 + k}")
        for n in range(half - 2 * len(during)):
            await fake.user_sends(HA_LAM, MEMBERS[10 + n % 20], f"/bao_cao ho=1 dvc={2000 + n}")
        await asyncio.sleep(OUTAGE_SECONDS)
        stored_during = (await _counts(database_url))[0]
        notices = [s for s in fake.messages_to(HA_LAM) if NOTICE in (s.text or "")]
        proxy.restore()
        async with asyncio.timeout(120):
            while (await _counts(database_url))[0] < REPORTS:  # noqa: ASYNC110 (another process writes)
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)
        stored, total = await _counts(database_url)
        await fake.until(lambda: receipts(fake, HA_LAM) >= REPORTS, within=90)
    finally:
        await stop_process(bot)
        await proxy.stop()
    log.info("outage: %d reports, %d stored during a %d s cut, %d after (total %d), %d notices",
             REPORTS, stored_during, OUTAGE_SECONDS, stored, total, len(notices))  # fmt: skip
    assert stored_during == half
    assert stored == REPORTS
    assert total == REPORTS
    # Told during the outage, once each: a notice quotes the first message it answers and
    # names everyone it answers when they are several.
    told: list[int | None] = []
    for notice in notices:
        named = [int(u) for u in re.findall(r"tg://user\?id=(\d+)", notice.params["text"])]
        if named:
            told += named
        else:
            quoted = notice.params.get("reply_parameters", {}).get("message_id")
            told.append(next((u for m, u in fake.authors(HA_LAM) if m == quoted), None))
    assert len(told) == len(set(told)), told  # nobody twice
    assert None not in told
    if webhook:
        # Telegram sends a webhook the update it could not deliver again and again, the next
        # ones behind it (the sandbox, one at a time): only its sender can be told meanwhile.
        assert told
        assert set(told) <= set(MEMBERS)
    else:
        # Polling fetches every update waiting: all who wrote during the outage are told.
        assert set(during) <= set(told)
    assert len(notices) <= 3, [n.text for n in notices]  # one a look, not one a member
