"""A local Bot API server over HTTP that behaves like Telegram where tcns can notice.

Checked against the machine-readable Bot API 10.1 (`telegram_api.json`): unknown methods and
parameters, missing required ones. Beyond that it does what Telegram does: privacy mode in groups,
HTML parse errors, the 4096-character limit counted after entity parsing, 429 with `retry_after`
(20 messages per minute per group, 30 per second overall), 403 for users who never started the bot,
`getUpdates` offsets and long polling, 409 while a webhook is set, and webhook delivery with the
secret header and redelivery until the bot answers 2xx. Buttons: reply markup checked as Telegram
checks it (`sandbox/markup.py`), a person pressing an inline button (a callback query, which
reaches a bot in privacy mode too), `answerCallbackQuery` once and within 15 seconds, editing and
deleting the bot's own messages ("message is not modified" included).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.web_request import FileField

from sandbox import markup
from sandbox.loopback import LoopbackServer

T = TypeVar("T")

CALLBACK_ANSWER_SECONDS = 15  # after that Telegram calls the query "too old"
CALLBACK_TEXT = 200
SPEC = json.loads((Path(__file__).parent / "telegram_api.json").read_text(encoding="utf-8"))
METHODS: dict[str, Any] = {name.lower(): m for name, m in SPEC["methods"].items()}

ALLOWED_TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "tg-spoiler": (),
    "span": ("class",),
    "a": ("href",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
    "tg-emoji": ("emoji-id",),
}
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to = migrate_to


class _TelegramHTML(HTMLParser):
    """Telegram's HTML subset; raises ApiError(400) as the server would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def _fail(self, why: str) -> None:
        raise ApiError(400, f"Bad Request: can't parse entities: {why}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        if tag == "a" and not any(k == "href" for k, _ in attrs):
            self._fail('Can\'t find "href" attribute of tag "a"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data or ">" in data:
            self._fail("Character '<', '>' or '&' must be escaped")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.text.append(ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name.startswith("x") else int(name)))

    def parse(self, html: str) -> str:
        self.feed(html)
        self.close()
        if self.rawdata:
            self._fail("Unexpected end of text")
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        return "".join(self.text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    started: bool = False  # has opened a private chat with the bot

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        return d


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    chat_id: int | None = None
    text: str | None = None  # the visible text (or caption), after HTML parsing
    message_id: int | None = None
    content: bytes | None = None  # an uploaded photo or document
    at: float = field(default_factory=time.monotonic)  # when the server accepted it


@dataclass
class FakeTelegram(LoopbackServer):
    token: str = "123456:TEST-token-for-the-fake-bot-api"  # noqa: S105 (a sandbox's own token)
    bot_id: int = 123456
    bot_username: str = "tcns_test_bot"
    privacy: bool = True
    group_per_minute: int = 20
    group_window: float = 60.0  # seconds; tests shrink it to see a 429 without waiting a minute
    global_per_second: int = 30
    webhook_retry_delay: float = 0.2

    users: dict[int, User] = field(default_factory=dict)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    commands: dict[str | None, list[dict[str, str]]] = field(default_factory=dict)
    # (group, user, language) -> the menu that person sees there (BotCommandScopeChatMember)
    member_commands: dict[tuple[int, int, str | None], list[dict[str, str]]] = field(
        default_factory=dict
    )
    # private chat (None: every chat's default) -> its menu button (setChatMenuButton)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    owners: dict[int, int] = field(default_factory=dict)  # group -> the user who created it
    kicked: set[int] = field(default_factory=set)  # groups that removed the bot
    migrated: dict[int, int] = field(default_factory=dict)  # group -> its supergroup
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_deliveries: int = 0
    failures: int = 0  # the next this-many sends answer 502, as a Bot API having a bad minute
    # Told of every message accepted, as it is accepted (the benchmarks time replies with it).
    on_sent: Callable[[Sent], None] | None = None
    # What "now" is for message dates: the demo runs weeks of simulated time in a minute.
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # highest update_id the bot confirmed via offset
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._new_update = asyncio.Condition()
        self._new_sent = asyncio.Condition()
        self._group_sends: dict[int, deque[float]] = {}
        self._global_sends: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._wakeups = 0
        self.files: dict[str, bytes] = {}
        # callback query id -> what was pressed, when, and the answer once given
        self.callbacks: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(1)
        self._pusher: asyncio.Task[None] | None = None
        self.port = 0

    # --- the world -------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
    ) -> User:
        self.users[user_id] = User(user_id, first_name, last_name, username)
        self.chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )
        return self.users[user_id]

    def add_group(self, chat_id: int, title: str, *, owner: int | None = None) -> None:
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        self.chats[chat_id] = {"id": chat_id, "type": kind, "title": title}
        if owner is not None:
            self.owners[chat_id] = owner

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "tcns",
            "username": self.bot_username,
        }

    async def user_sends(
        self, chat_id: int, user_id: int, text: str, *, reply_to: int | None = None
    ) -> dict[str, Any]:
        """A person types in a chat. Returns the message; the bot sees it unless privacy
        mode hides it (a group message that is neither a command nor a reply to the bot)."""
        user = self.users[user_id]
        if chat_id == user_id:
            user.started = True
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(self.clock()),
            "chat": self.chats[chat_id],
            "from": user.as_dict(),
            "text": text,
        }
        command = re.match(r"^/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        replied = self._messages.get((chat_id, reply_to)) if reply_to else None
        if replied is not None:
            message["reply_to_message"] = replied
        self._messages[(chat_id, message["message_id"])] = message
        visible = (
            not self.privacy
            or self.chats[chat_id]["type"] == "private"
            or command is not None
            or (replied is not None and replied["from"].get("id") == self.bot_id)
        )
        if visible:
            await self._push_update({"message": message})
        return message

    async def user_sends_web_app_data(
        self, user_id: int, data: str, *, button_text: str
    ) -> dict[str, Any]:
        """What Telegram delivers when a Mini App opened from a keyboard key calls
        `Telegram.WebApp.sendData(data)`: a service message from the person, in their private
        chat with the bot, with no text. Telegram keeps `data` to 4096 bytes and requires the
        key to be one of the bot's keyboard's web_app keys."""
        if not 1 <= len(data.encode()) <= 4096:
            raise ValueError("sendData takes 1-4096 bytes")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(user_id),
            "date": int(self.clock()),
            "chat": self.chats[user_id],
            "from": self.users[user_id].as_dict(),
            "web_app_data": {"data": data, "button_text": button_text},
        }
        self._messages[(user_id, message["message_id"])] = message
        await self._push_update({"message": message})
        return message

    async def user_sends_document(
        self, chat_id: int, user_id: int, filename: str, content: bytes, *, caption: str = ""
    ) -> dict[str, Any]:
        """A person sends a file with a caption. In privacy mode a group's bot sees it only
        when the caption is a command (as for text)."""
        user = self.users[user_id]
        file_id = f"doc-{len(self.files) + 1}"
        self.files[file_id] = content
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(self.clock()),
            "chat": self.chats[chat_id],
            "from": user.as_dict(),
            "document": {"file_id": file_id, "file_unique_id": f"u{file_id}",
                         "file_name": filename, "file_size": len(content)},
        }  # fmt: skip
        command = re.match(r"^/[A-Za-z0-9_]+(@\w+)?", caption)
        if caption:
            message["caption"] = caption
        if command:
            message["caption_entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        self._messages[(chat_id, message["message_id"])] = message
        if not self.privacy or self.chats[chat_id]["type"] == "private" or command is not None:
            await self._push_update({"message": message})
        return message

    async def _m_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        content = self.files.get(file_id)
        if content is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(content) > 20 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content),
                "file_path": f"documents/{file_id}"}  # fmt: skip

    async def user_leaves(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """A person leaves a group: Telegram's service message, which bots get whatever their
        privacy mode."""
        user = self.users[user_id].as_dict()
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(self.clock()),
            "chat": self.chats[chat_id],
            "from": user,
            "left_chat_member": user,
        }
        self._messages[(chat_id, message["message_id"])] = message
        await self._push_update({"message": message})
        return message

    async def user_joins(
        self, chat_id: int, user_ids: list[int], *, by: int | None = None
    ) -> dict[str, Any]:
        """People join a group (by its link, or added by `by`): Telegram's service message,
        which bots get whatever their privacy mode."""
        joined = [self.users[u].as_dict() for u in user_ids]
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(self.clock()),
            "chat": self.chats[chat_id],
            "from": self.users[by].as_dict() if by is not None else joined[0],
            "new_chat_members": joined,
        }
        self._messages[(chat_id, message["message_id"])] = message
        await self._push_update({"message": message})
        return message

    async def member_status_changes(
        self, chat_id: int, user_id: int, *, old: str, new: str, by: int | None = None
    ) -> None:
        """A chat_member update (Telegram sends it to a bot that administers the group and
        asked for it in allowed_updates): `user_id`'s status went from `old` to `new`
        ("left", "member", "kicked", "administrator"…)."""
        user = self.users[user_id].as_dict()
        await self._push_update({
            "chat_member": {
                "chat": self.chats[chat_id],
                "from": self.users[by].as_dict() if by is not None else user,
                "date": int(self.clock()),
                "old_chat_member": {"status": old, "user": user},
                "new_chat_member": {"status": new, "user": user},
            }
        })  # fmt: skip

    async def user_edits(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        message = dict(self._messages[(chat_id, message_id)])
        message["text"] = text
        message["edit_date"] = int(self.clock())
        command = re.match(r"^/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        else:
            message.pop("entities", None)
        self._messages[(chat_id, message_id)] = message
        if not self.privacy or command or self.chats[chat_id]["type"] == "private":
            await self._push_update({"edited_message": message})
        return message

    async def user_presses(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """A person presses the inline button with `data` under the bot's message; returns the
        callback query's id. Callback queries reach the bot whatever its privacy mode."""
        message = self._messages.get((chat_id, message_id))
        if message is None or message["from"].get("id") != self.bot_id:
            raise ValueError(f"no message {message_id} of the bot in {chat_id}")
        if data not in markup.callback_data(message.get("reply_markup")):
            raise ValueError(f"no button {data!r} under message {message_id}")
        query_id = f"{self.bot_id}{next(self._callback_ids):08d}"
        self.callbacks[query_id] = {
            "from": user_id, "data": data, "at": self.clock(), "answer": None,
            "pressed_at": time.monotonic(),
        }  # fmt: skip
        await self._push_update({
            "callback_query": {
                "id": query_id,
                "from": self.users[user_id].as_dict(),
                "message": message,
                "chat_instance": str(abs(chat_id)),
                "data": data,
            }
        })  # fmt: skip
        return query_id

    async def redeliver_last(self) -> None:
        """Telegram sends an update again when it did not see the answer (a timeout)."""
        self._confirmed = min(self._confirmed, self._updates[-1]["update_id"] - 1)
        async with self._new_update:
            self._new_update.notify_all()

    async def _push_update(self, body: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        async with self._new_update:
            self._new_update.notify_all()

    async def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        if self.on_sent is not None:
            self.on_sent(sent)
        async with self._new_sent:
            self._new_sent.notify_all()

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as it stands now in the chat (after edits); None once deleted."""
        return self._messages.get((chat_id, message_id))

    def buttons(self, chat_id: int, message_id: int) -> list[tuple[str, str]]:
        """(text, callback data) of the inline buttons under a message, in order."""
        message = self._messages.get((chat_id, message_id)) or {}
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def authors(self, chat_id: int) -> list[tuple[int, int]]:
        """(message id, sender) of what people (not the bot) wrote in a chat."""
        return [
            (message_id, int(m["from"]["id"]))
            for (chat, message_id), m in self._messages.items()
            if chat == chat_id and m.get("from", {}).get("id") != self.bot_id
        ]

    def messages_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id and s.method == "sendmessage"]

    def posts_to(self, chat_id: int) -> list[Sent]:
        """Everything the bot sent there: messages, photos, documents."""
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait_sent(
        self, count: int, *, chat_id: int | None = None, within: float = 10
    ) -> list[Sent]:
        """Waits until `count` messages in all (or to `chat_id`) have been sent."""

        def matching() -> list[Sent]:
            return [
                s
                for s in self.sent
                if s.method == "sendmessage" and (chat_id is None or s.chat_id == chat_id)
            ]

        async with asyncio.timeout(within), self._new_sent:
            await self._new_sent.wait_for(lambda: len(matching()) >= count)
        return matching()

    async def until(self, check: Callable[[], T | None], *, within: float = 10) -> T:
        """Waits until `check()` gives something true, looking again after every call the bot
        makes; returns what it gave."""
        found: list[T] = []

        def ready() -> bool:
            value = check()
            if value:
                found.append(value)
            return bool(value)

        async with asyncio.timeout(within), self._new_sent:
            await self._new_sent.wait_for(ready)
        return found[-1]

    async def wait_sent_to(self, chat_id: int, count: int, *, within: float = 10) -> None:
        """Waits until the bot has sent `count` things of any kind to `chat_id`."""
        async with asyncio.timeout(within), self._new_sent:
            await self._new_sent.wait_for(lambda: len(self.posts_to(chat_id)) >= count)

    async def wait_sent_kind(self, method: str, count: int, *, within: float = 10) -> None:
        """Waits until `count` calls of `method` (e.g. "sendphoto") have succeeded."""
        async with asyncio.timeout(within), self._new_sent:
            await self._new_sent.wait_for(
                lambda: sum(1 for s in self.sent if s.method == method) >= count
            )

    # --- the server ------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    async def _download(self, request: web.Request) -> web.Response:
        """A file as `getFile` gave its path (Telegram serves bots files up to 20 MB)."""
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        file_id = request.match_info["path"].removeprefix("documents/")
        content = self.files.get(file_id)
        if content is None:
            return web.json_response({"ok": False, "error_code": 404}, status=404)
        return web.Response(body=content)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await self._params(request, method)
            self.calls.append((method, params))
            result = await getattr(self, f"_m_{method}", self._m_generic)(params)
            async with self._new_sent:
                self._new_sent.notify_all()  # for `until`: any answered call may be awaited
        except ApiError as exc:
            self.errors.append((method, exc.code, exc.description))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            if exc.migrate_to is not None:
                body["parameters"] = {"migrate_to_chat_id": exc.migrate_to}
            return web.json_response(body, status=exc.code)
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request, method: str) -> dict[str, Any]:
        spec = METHODS.get(method)
        if spec is None:
            raise ApiError(404, "Not Found")
        fields = {f["name"]: f for f in spec.get("fields", [])}
        raw: dict[str, Any] = {}
        if request.content_type == "application/json":
            raw = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                types = fields.get(name, {}).get("types", ["String"])
                if isinstance(value, FileField):
                    if "InputFile" not in types:
                        raise ApiError(400, f"Bad Request: {name} cannot be a file upload")
                    raw[name] = {"upload": value.file.read(), "filename": value.filename}
                    continue
                if not isinstance(value, str):
                    raise ApiError(400, f"Bad Request: {name} is malformed")
                if types == ["String"]:
                    raw[name] = value
                else:
                    try:
                        raw[name] = json.loads(value)
                    except json.JSONDecodeError:
                        raw[name] = value
        raw.update({k: v for k, v in request.query.items() if k not in raw})
        for name in raw:
            if name not in fields:
                raise ApiError(400, f"Bad Request: unknown parameter {name} for {method}")
        for name, f in fields.items():
            if f.get("required") and name not in raw:
                raise ApiError(400, f"Bad Request: {name} is empty")
        return raw

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        try:
            cid = int(chat_id)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat not found") from exc
        chat = self.chats.get(cid)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    # --- methods ---------------------------------------------------------------------------

    async def _m_generic(self, _params: dict[str, Any]) -> Any:
        return True

    async def _m_getme(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getchatadministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(params["chat_id"])
        owner = self.owners.get(chat["id"])
        if owner is None:
            return []
        return [{"status": "creator", "user": self.users[owner].as_dict(), "is_anonymous": False}]

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset", 0))
        if offset:
            self._confirmed = max(self._confirmed, offset - 1)
        timeout = float(params.get("timeout", 0))
        limit = int(params.get("limit", 100))

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] > self._confirmed][:limit]

        wakeups = self._wakeups
        if not pending() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._new_update:
                    await self._new_update.wait_for(
                        lambda: bool(pending()) or self._wakeups != wakeups
                    )
        return pending()

    async def wake_pollers(self) -> None:
        """Ends the long polls under way now, as if their timeout had passed, so that a bot
        being stopped in a test does not sit out a whole poll."""
        self._wakeups += 1
        async with self._new_update:
            self._new_update.notify_all()

    async def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook_url, self.webhook_secret = url, secret
        if self._pusher is None:
            self._pusher = asyncio.create_task(self._push_loop())
        async with self._new_update:
            self._new_update.notify_all()
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._confirmed = max((u["update_id"] for u in self._updates), default=0)
        return True

    async def _m_getwebhookinfo(self, _params: dict[str, Any]) -> dict[str, Any]:
        pending = [u for u in self._updates if u["update_id"] > self._confirmed]
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(pending),
        }

    async def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = self._scope(params)
        if scope is None:
            self.commands[params.get("language_code")] = commands
        else:
            self.member_commands[(*scope, params.get("language_code"))] = commands
        return True

    async def _m_setchatmenubutton(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        chat = params.get("chat_id")
        if chat is not None and int(chat) not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        if button.get("type") == "web_app":
            if not 1 <= len(str(button.get("text") or "")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            try:
                markup.web_app(button.get("web_app"), private=True, what="menu button")
            except markup.MarkupError as exc:
                raise ApiError(400, f"Bad Request: {exc}") from exc
        elif button.get("type") not in ("default", "commands"):
            raise ApiError(400, "Bad Request: menu button type is invalid")
        self.menu_buttons[None if chat is None else int(chat)] = button
        return True

    async def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        scope = self._scope(params)
        if scope is None:
            self.commands.pop(params.get("language_code"), None)
        else:
            self.member_commands.pop((*scope, params.get("language_code")), None)
        return True

    def _scope(self, params: dict[str, Any]) -> tuple[int, int] | None:
        """(chat, user) of a BotCommandScopeChatMember; None for the default scope. Telegram
        refuses a member scope outside a group, or for someone not in it."""
        scope = params.get("scope")
        if scope is None or scope.get("type") == "default":
            return None
        if scope.get("type") != "chat_member":
            raise ApiError(
                400, "Bad Request: this sandbox knows the default and chat_member scopes"
            )
        chat = self._chat(scope.get("chat_id"))
        if chat["type"] == "private":
            raise ApiError(400, "Bad Request: can't use chat_member scope in private chats")
        user = scope.get("user_id")
        if not isinstance(user, int) or user not in self.users:
            raise ApiError(400, "Bad Request: user not found")
        return chat["id"], user

    def _target(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise ApiError(502, "Bad Gateway")
        chat = self._chat(params["chat_id"])
        if chat["id"] in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to=self.migrated[chat["id"]],
            )
        if chat["id"] in self.kicked:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if chat["type"] == "private" and not self.users[chat["id"]].started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _visible(self, text: str, parse_mode: Any, limit: int, *, what: str) -> str:
        if parse_mode == "HTML":
            visible = _TelegramHTML().parse(text)
        elif parse_mode is None:
            visible = text
        else:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if utf16_len(visible) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")
        return visible

    def kick(self, chat_id: int) -> None:
        self.kicked.add(chat_id)

    def migrate(self, chat_id: int, new_id: int) -> None:
        self.add_group(new_id, self.chats[chat_id].get("title", ""))
        self.migrated[chat_id] = new_id

    async def _m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "photo")

    async def _m_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "document")

    async def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat = self._target(params)
        caption = self._visible(
            str(params.get("caption") or ""), params.get("parse_mode"), 1024, what="caption"
        )
        media = params[kind]
        if isinstance(media, dict):
            content: bytes = media["upload"]
            file_id = f"{kind}-{len(self.files) + 1}"
            self.files[file_id] = content
            filename = media.get("filename")
        elif isinstance(media, str) and media in self.files:
            file_id, content, filename = media, self.files[media], None
        else:
            raise ApiError(400, "Bad Request: wrong remote file identifier specified")
        keyboard = self._markup(params)
        self._rate_limit(chat)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(self.clock()),
            "chat": chat,
            "from": self._bot_user(),
        }
        if caption:
            message["caption"] = caption
        if keyboard is not None:
            message["reply_markup"] = keyboard
        if kind == "photo":
            message["photo"] = [
                {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 880,
                 "height": 600, "file_size": len(content)}
            ]  # fmt: skip
        else:
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": filename or "file",
                "file_size": len(content),
            }
        self._messages[(chat["id"], message["message_id"])] = message
        await self._record(Sent(f"send{kind}", params, chat["id"], caption,
                                message["message_id"], content))  # fmt: skip
        return message

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        """The request's reply markup, checked; the inline keyboard to keep on the message."""
        given = params.get("reply_markup")
        if given is None:
            return None
        try:
            markup.check(given, private=int(params.get("chat_id") or 0) > 0)
        except markup.MarkupError as exc:
            raise ApiError(400, f"Bad Request: {exc}") from exc
        return given if "inline_keyboard" in given else None

    def _own_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id") is not None:
            raise ApiError(400, "Bad Request: inline messages are not part of this sandbox")
        chat = self._chat(params.get("chat_id"))
        try:
            key = (chat["id"], int(params.get("message_id") or 0))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: message_id is invalid") from exc
        message = self._messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"].get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        visible = self._visible(
            str(params.get("text") or ""), params.get("parse_mode"), 4096, what="message"
        )
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        keyboard = self._markup(params)
        return await self._edited(message, params, "editmessagetext", visible, keyboard)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        keyboard = self._markup(params)
        return await self._edited(
            message, params, "editmessagereplymarkup", message.get("text"), keyboard
        )

    async def _edited(
        self,
        message: dict[str, Any],
        params: dict[str, Any],
        method: str,
        text: str | None,
        keyboard: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if text == message.get("text") and keyboard == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        edited = {**message, "edit_date": int(self.clock())}
        if text is not None:
            edited["text"] = text
        edited.pop("reply_markup", None)
        if keyboard is not None:
            edited["reply_markup"] = keyboard
        chat_id = message["chat"]["id"]
        self._messages[(chat_id, message["message_id"])] = edited
        await self._record(Sent(method, params, chat_id, text, message["message_id"]))
        return edited

    async def _m_deletemessage(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params["chat_id"])
        key = (chat["id"], int(params["message_id"]))
        if self._messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        await self._record(Sent("deletemessage", params, chat["id"], None, key[1]))
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query = self.callbacks.get(str(params["callback_query_id"]))
        if (
            query is None
            or query["answer"] is not None
            or self.clock() - query["at"] > CALLBACK_ANSWER_SECONDS
        ):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = params.get("text")
        if text is not None and len(str(text)) > CALLBACK_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query["answer"] = {"text": text, "show_alert": params.get("show_alert") is True}
        query["answered_at"] = time.monotonic()  # for the benchmarks: how long it took
        return True

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(params)
        visible = self._visible(
            str(params["text"]), params.get("parse_mode"), 4096, what="message"
        )
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        reply = params.get("reply_parameters")
        if (
            reply is not None
            and (chat["id"], reply.get("message_id")) not in self._messages
            and not reply.get("allow_sending_without_reply")
        ):
            raise ApiError(400, "Bad Request: message to be replied not found")
        keyboard = self._markup(params)
        self._rate_limit(chat)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(self.clock()),
            "chat": chat,
            "from": self._bot_user(),
            "text": visible,
        }
        if keyboard is not None:
            message["reply_markup"] = keyboard
        self._messages[(chat["id"], message["message_id"])] = message
        await self._record(Sent("sendmessage", params, chat["id"], visible, message["message_id"]))
        return message

    def _rate_limit(self, chat: dict[str, Any]) -> None:
        now = time.monotonic()
        while self._global_sends and now - self._global_sends[0] >= 1.0:
            self._global_sends.popleft()
        if len(self._global_sends) >= self.global_per_second:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if chat["type"] != "private":
            window = self._group_sends.setdefault(chat["id"], deque())
            while window and now - window[0] >= self.group_window:
                window.popleft()
            if len(window) >= self.group_per_minute:
                wait = max(1, int(self.group_window - (now - window[0])) + 1)
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            window.append(now)
        self._global_sends.append(now)

    async def _push_loop(self) -> None:
        """Webhook delivery: each pending update POSTed in order until answered with 2xx."""
        async with aiohttp.ClientSession() as http:
            while True:
                async with self._new_update:
                    await self._new_update.wait_for(
                        lambda: (
                            self.webhook_url is not None
                            and any(u["update_id"] > self._confirmed for u in self._updates)
                        )
                    )
                pending = [u for u in self._updates if u["update_id"] > self._confirmed]
                update = pending[0]
                headers = {}
                if self.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                ok = False
                try:
                    url = self.webhook_url or ""  # set: the wait above checked it
                    async with http.post(url, json=update, headers=headers) as r:
                        self.webhook_deliveries += 1
                        ok = 200 <= r.status < 300
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    self._confirmed = max(self._confirmed, update["update_id"])
                else:
                    await asyncio.sleep(self.webhook_retry_delay)
