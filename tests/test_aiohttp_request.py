"""python-telegram-bot over tcns's aiohttp requests: the same methods, uploads and errors as
over PTB's own httpx requests, against the sandbox Bot API and servers that misbehave."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut

import bot.telegram  # noqa: F401 (sets how PTB gives durations, as tcns runs it)
from bot.aiohttp_request import AiohttpRequest
from sandbox.telegram import FakeTelegram

GROUP = -1001234567890


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram(group_per_minute=2).start()
    server.add_group(GROUP, "Thôn Phú Mỹ")
    yield server
    await server.stop()


def _bot(url: str, token: str, **timeouts: float) -> Bot:
    return Bot(
        token,
        base_url=f"{url}/bot",
        request=AiohttpRequest(connection_pool_size=4, **timeouts),
        get_updates_request=AiohttpRequest(connection_pool_size=1, **timeouts),
    )


async def test_messages_uploads_and_long_polls_reach_the_bot_api(fake: FakeTelegram) -> None:
    fake.add_user(42, "Lan")
    async with _bot(fake.url, fake.token) as bot:
        assert bot.username == fake.bot_username  # getMe at initialize
        sent = await bot.send_message(GROUP, "<b>Thôn Phú Mỹ</b> &amp; Đông", parse_mode="HTML")
        assert sent.chat.id == GROUP
        assert sent.message_id >= 1
        document = await bot.send_document(
            GROUP, b"PK\x03\x04 workbook", filename="bao-cao.xlsx", caption="Tuần 47"
        )
        assert document.document is not None
        assert document.document.file_name == "bao-cao.xlsx"
        assert fake.files[document.document.file_id] == b"PK\x03\x04 workbook"
        await fake.user_sends(GROUP, 42, "/bao_cao ho=2")
        updates = await bot.get_updates(timeout=1)
    assert [u.effective_message.text for u in updates if u.effective_message] == ["/bao_cao ho=2"]
    texts = [s.text for s in fake.messages_to(GROUP)]
    assert texts[0] == "Thôn Phú Mỹ & Đông"


async def test_the_bot_api_refusal_keeps_its_meaning(fake: FakeTelegram) -> None:
    async with _bot(fake.url, fake.token) as bot:
        await bot.send_message(GROUP, "một")
        await bot.send_message(GROUP, "hai")
        with pytest.raises(RetryAfter):  # the group's limit in this fake is two a minute
            await bot.send_message(GROUP, "ba")


@pytest.fixture
async def silent() -> AsyncIterator[str]:
    """A server that takes the request and never answers."""
    never = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    never.set()
    await runner.cleanup()


async def test_an_answer_that_never_comes_is_a_timeout(silent: str) -> None:
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{silent}/bot1:x/getMe")
    finally:
        await request.shutdown()


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_a_shut_down_request_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post("http://127.0.0.1:9/bot1:x/getMe")


async def test_a_long_poll_outlasts_the_read_timeout(fake: FakeTelegram) -> None:
    # Nothing arrives: the server holds the poll its whole two seconds, twice the read
    # timeout, which PTB extends by the poll's own timeout (as over httpx).
    async with _bot(fake.url, fake.token, read_timeout=1.0) as bot:
        assert await bot.get_updates(timeout=2) == ()


async def test_a_proxy_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(str(request.url))  # a proxy is asked for the whole URL
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True,
                                                         "first_name": "tcns"}})  # fmt: skip

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{runner.addresses[0][1]}")
    request = AiohttpRequest()
    await request.initialize()
    try:
        # Not resolvable, so only the proxy can answer it.
        answer = await request.post("http://api.telegram.invalid/bot1:x/getMe")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert answer == {"id": 1, "is_bot": True, "first_name": "tcns"}
    assert seen == ["http://api.telegram.invalid/bot1:x/getMe"]
