"""The database goes away mid-burst: members are told once that their report will be recorded,
updates wait in the inbox, and when it returns every report is stored once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.inbox import Claim, InboxWorker, Round
from handlers import router
from handlers.incoming import Deps, Incoming, Reply
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person


class Outage:
    """A session factory that fails like an unreachable database while `down` is set."""

    def __init__(self, real: Any) -> None:
        self.real, self.down = real, False
        self.kw = real.kw

    def __call__(self) -> Any:
        if self.down:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.real()


async def test_outage_mid_burst_stores_every_report_once(deps: Deps) -> None:
    await ChatRoom(deps, "tg:-9100").say(
        Person(SUPERADMIN, "Quản"), "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000"
    )
    outage = Outage(deps.sessions)
    bot_deps = replace(deps, sessions=outage)  # type: ignore[arg-type]  # a stand-in factory
    notices: list[tuple[str, Reply]] = []
    told: set[str] = set()

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        msg = Incoming(
            platform="tg",
            chat_id="tg:-9100",
            chat_kind="group",
            sender_id=f"tg:{payload['from']}",
            sender_name="Thành viên",
            text=f"/bao_cao ho=1 dvc={payload['id']}",  # no two the same: none a resend
            sent_at=datetime(2026, 11, 20, 3, tzinfo=UTC),
            message_key=f"tg:-9100:{payload['id']}",
            update_key=f"tg:update:{payload['id']}",
        )
        try:
            await router.handle(
                bot_deps, msg, claim=claim, within=round_.session if round_ else None
            )
        except router.StorageUnavailable as exc:
            if msg.update_key not in told:
                told.add(msg.update_key or "")
                notices.append((msg.chat_id, router.storage_notice(exc.language)))
            raise

    worker = InboxWorker(deps.sessions)  # the inbox itself lives on; only processing fails
    worker.processors["tg"] = process
    await worker.store(
        [(f"tg:update:{n}", "tg", {"id": n, "from": 900 + n % 7}) for n in range(60)]
    )

    outage.down = True
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(1.5)  # a few rounds against the outage
    outage.down = False
    async with asyncio.timeout(30):
        while True:
            async with deps.sessions() as session:
                stored = (await session.exec(text("SELECT count(*) FROM report"))).one()  # type: ignore[call-overload]
            if stored[0] >= 60:
                break
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.2)
    stop.set()
    worker.wake.set()
    await running
    async with deps.sessions() as session:
        stored = (await session.exec(text("SELECT count(*) FROM report"))).one()  # type: ignore[call-overload]
        failed = (
            await session.exec(text("SELECT count(*) FROM inbox WHERE state <> 'done'"))  # type: ignore[call-overload]
        ).one()
    assert stored[0] == 60
    assert failed[0] == 0
    assert len(notices) == 1  # the first update met the outage; the rest waited behind it
    assert "không cần gửi lại" in notices[0][1].rich.plain()
