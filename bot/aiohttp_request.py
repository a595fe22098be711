"""python-telegram-bot's requests over aiohttp instead of httpx.

PTB lets a bot choose its HTTP library by subclassing `BaseRequest` (its docs name aiohttp as the
example; ptbcontrib keeps one such class, which is not on PyPI). tcns already runs aiohttp for
its webhooks and pages, and aiohttp's client spends about a third of httpx's CPU on a request
(C parser, one layer instead of httpx → httpcore → h11 → anyio): the ingest benchmark's bot is
CPU-bound, and half of what it spent was HTTP (BENCHMARKS.md, issue 13).
"""

from __future__ import annotations

import urllib.request
from typing import Any

import aiohttp
import yarl
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class OutcomeUnknown(NetworkError):
    """The request went out and no answer came back (the connection broke, or the answer was
    too long in coming): whether the server did it is not known. Raised apart from failures
    where the request never left (no connection could be made), which are safe to repeat."""


class NoAnswerInTime(TimedOut, OutcomeUnknown):
    """The answer did not come in time: a timeout, as PTB means it, of unknown outcome."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _chosen(value: Any, default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """Timeouts mean what they mean for `HTTPXRequest` (PTB's defaults: 5 s to connect, to read
    and to write, 1 s to wait for a free connection of the pool, 20 s to write a file)."""

    __slots__ = (
        "_connect",
        "_connections",
        "_media_write",
        "_pool",
        "_proxies",
        "_read",
        "_session",
        "_write",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    def _proxy(self, url: str) -> str | None:
        """HTTP(S)_PROXY and NO_PROXY from the environment, as httpx honours them: where
        Telegram is reached only through a proxy, that is how a deployment says so. Looked up
        once per server (aiohttp's own `trust_env` reads the environment and ~/.netrc on every
        request, which cost more than the request)."""
        parsed = yarl.URL(url)
        origin = f"{parsed.scheme}://{parsed.host}:{parsed.port}"
        if origin not in self._proxies:
            proxy = urllib.request.getproxies().get(parsed.scheme)
            bypass = proxy is not None and urllib.request.proxy_bypass(parsed.host or "")
            self._proxies[origin] = None if bypass else proxy
        return self._proxies[origin]

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=None),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else {}
        read = _chosen(read_timeout, self._read)
        write = _chosen(write_timeout, self._media_write if files else self._write)
        connect = _chosen(connect_timeout, self._connect)
        pool = _chosen(pool_timeout, self._pool)
        data: aiohttp.FormData | dict[str, str]
        if files:
            # File names as they are (UTF-8), as httpx sends them, not percent-encoded.
            data = aiohttp.FormData(fields, quote_fields=False)
            for name, (filename, content, mimetype) in files.items():
                data.add_field(name, content, filename=filename, content_type=mimetype)
        else:
            data = fields
        # aiohttp's `connect` is the wait for a free connection *and* making one, so it gets
        # both budgets; it has no write timeout of its own: the whole exchange is bounded by
        # the sum of all four.
        parts = (pool, connect, write, read)
        total = None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
        acquire = None if pool is None or connect is None else pool + connect
        timeout = aiohttp.ClientTimeout(
            total=total, connect=acquire, sock_connect=connect, sock_read=read
        )
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                proxy=self._proxy(url),
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # No connection: the request never left.
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise NoAnswerInTime(f"no answer in time: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise OutcomeUnknown(f"aiohttp.{type(exc).__name__}: {exc}") from exc
