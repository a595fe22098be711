"""Telegram through python-telegram-bot's `Bot`: its updates as `Incoming`, its long poll and
webhook, and sending one reply. Everything else is the shared driver's (bot/transport.py)."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChatMember,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    MenuButtonWebApp,
    ReplyKeyboardMarkup,
    ReplyParameters,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBUserWarning

from bot.aiohttp_request import AiohttpRequest, OutcomeUnknown
from bot.pacing import Pacer
from bot.render import chunks, html_line, telegram_html
from bot.settings import Settings
from handlers import i18n
from handlers.commands import AUDIENCES, listed
from handlers.incoming import (
    LATEST_DATE,
    Button,
    Deps,
    Document,
    Incoming,
    Menu,
    Newcomer,
    Reply,
    SendOutcome,
    SendResult,
)
from handlers.person_names import display_name

log = logging.getLogger(__name__)

# What the keyboard's report form sends (Telegram.WebApp.sendData, at most 4096 bytes).
FORM_PREFIX = "/bao_cao "
MAX_FORM_DATA = 4096

# `fetch` asks for getUpdates by name to have the updates' JSON as it came; PTB warns about
# every such call that it has a method of its own for it.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.getUpdates' instead", category=PTBUserWarning
)

# Opt in to PTB's coming behaviour (durations as timedelta) instead of a deprecation warning
# on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# chat_member: joins and departures, which Telegram sends a bot that is the group's admin
# (where a group hides its service messages about them, this is all there is).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "chat_member"]
POLL_TIMEOUT = 20
CAPTION_LIMIT = 1024


def _is_group(chat_id: str) -> bool:
    return chat_id.removeprefix("tg:").startswith("-")


def chat_key(chat_id: int) -> str:
    return f"tg:{chat_id}"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> int | None:
    seconds = _int(value)
    return seconds if seconds is not None and 0 <= seconds <= LATEST_DATE else None


def _person(user: Any) -> tuple[int, str, str | None, bool] | None:
    """(id, full name, username, is a bot) of a User object; None when it is not one."""
    if not isinstance(user, dict) or _int(user.get("id")) is None:
        return None
    first, last = user.get("first_name"), user.get("last_name")
    name = display_name(
        first if isinstance(first, str) else None, last if isinstance(last, str) else None
    )
    username = user.get("username")
    return (
        user["id"],
        name or str(user["id"]),
        username if isinstance(username, str) else None,
        user.get("is_bot") is True,
    )


def _press(update: dict[str, Any]) -> Incoming | None:
    """A press of one of the bot's buttons (a callback query) as an `Incoming` whose text is
    the button's data."""
    query = update["callback_query"]
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return None
    message, sender, data = query.get("message"), _person(query.get("from")), query.get("data")
    if not isinstance(message, dict) or sender is None or not isinstance(data, str):
        return None
    chat, message_id, date = (
        message.get("chat"),
        _int(message.get("message_id")),
        _date(message.get("date")),
    )
    if not isinstance(chat, dict) or _int(chat.get("id")) is None or message_id is None:
        return None
    title = chat.get("title")
    return Incoming(
        platform="tg",
        chat_id=chat_key(chat["id"]),
        chat_kind="private" if chat.get("type") == "private" else "group",
        chat_title=title if isinstance(title, str) else None,
        sender_id=f"tg:{sender[0]}",
        sender_name=sender[1],
        sender_username=sender[2],
        text=data,
        # The pressed message's date; the router dates the press itself when it handles it.
        sent_at=datetime.fromtimestamp(date or 0, UTC),
        message_key=f"{chat_key(chat['id'])}:{message_id}",
        update_key=f"tg:update:{update['update_id']}",
        press_id=query["id"],
    )


def to_incoming(update: dict[str, Any]) -> Incoming | None:
    """The neutral message of an update as Telegram sends it (the JSON, read directly: it is
    stored so and read once, and building PTB's objects for it cost more than the rest of a
    report's reading); None for what the bot does not read."""
    if not isinstance(update, dict) or _int(update.get("update_id")) is None:
        return None
    if "callback_query" in update:
        return _press(update)
    if "chat_member" in update:
        return _member_change(update)
    edited = isinstance(update.get("edited_message"), dict)
    message = update.get("edited_message") if edited else update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat, sender = message.get("text"), message.get("chat"), _person(message.get("from"))
    gone = _person(message.get("left_chat_member"))
    if gone is not None and text is None:
        text = ""  # the service message of someone leaving: no text of its own
    joined = _newcomers(message.get("new_chat_members"))
    if joined and text is None:
        text = ""  # the service message of people joining (or added): no text either
    document = _document(message.get("document"))
    if document is not None and text is None:
        text = message.get("caption") or ""  # a file's command is in its caption
    sent = message.get("web_app_data")
    if isinstance(sent, dict) and text is None and chat_kind_of(message) == "private":
        # The report form opened from the keyboard (bot/pages.py) sends its report as the
        # person's own message: read as if typed, and only as a report.
        data = sent.get("data")
        if isinstance(data, str) and data.startswith(FORM_PREFIX):
            text = data[:MAX_FORM_DATA]
    message_id, date = _int(message.get("message_id")), _date(message.get("date"))
    if not isinstance(text, str) or sender is None or message_id is None or date is None:
        return None
    if not isinstance(chat, dict) or _int(chat.get("id")) is None:
        return None
    sender_id, sender_name, username, is_bot = sender
    if is_bot:
        return None
    reply_to = message.get("reply_to_message")
    replied = _person(reply_to.get("from")) if isinstance(reply_to, dict) else None
    to_bot = None
    to_data: tuple[str, ...] = ()
    if replied is not None and replied[3]:
        if isinstance(reply_to, dict) and _int(reply_to.get("message_id")) is not None:
            to_bot = str(reply_to["message_id"])  # an answer to one of the bot's questions
            to_data = _button_data(reply_to.get("reply_markup"))
        replied = None  # commands "as a reply" are about people, never about a bot
    title = chat.get("title")
    return Incoming(
        platform="tg",
        chat_id=chat_key(chat["id"]),
        chat_kind="private" if chat.get("type") == "private" else "group",
        chat_title=title if isinstance(title, str) else None,
        sender_id=f"tg:{sender_id}",
        sender_name=sender_name,
        sender_username=username,
        text=text,
        sent_at=datetime.fromtimestamp(date, UTC),
        message_key=f"{chat_key(chat['id'])}:{message_id}",
        edited=edited,
        update_key=f"tg:update:{update['update_id']}",
        reply_to_id=f"tg:{replied[0]}" if replied is not None else None,
        reply_to_name=replied[1] if replied is not None else None,
        reply_to_bot=to_bot,
        reply_to_data=to_data,
        document=document,
        left=f"tg:{gone[0]}" if gone is not None and not gone[3] else None,
        joined=joined,
    )


def _newcomers(users: Any) -> tuple[Newcomer, ...]:
    """The people (not bots: the bot itself, when it is added) a join message names."""
    found = [_person(u) for u in users] if isinstance(users, list) else []
    return tuple(Newcomer(f"tg:{p[0]}", p[1], p[2]) for p in found if p is not None and not p[3])


_IN = frozenset({"creator", "administrator", "member"})


def _is_in(member: Any) -> bool:
    """Whether a ChatMember object is in the group (restricted people may be, or not)."""
    if not isinstance(member, dict):
        return False
    status = member.get("status")
    return status in _IN or (status == "restricted" and member.get("is_member") is True)


def _member_change(update: dict[str, Any]) -> Incoming | None:
    """A chat_member update as the join or the departure it is; None for other changes (a
    promotion, a restriction)."""
    change = update["chat_member"]
    if not isinstance(change, dict):
        return None
    chat, date = change.get("chat"), _date(change.get("date"))
    old, new = change.get("old_chat_member"), change.get("new_chat_member")
    user = _person(new.get("user")) if isinstance(new, dict) else None
    if not isinstance(chat, dict) or _int(chat.get("id")) is None or date is None:
        return None
    if user is None or user[3] or chat.get("type") == "private":
        return None
    was, now = _is_in(old), _is_in(new)
    if was == now:
        return None
    actor = _person(change.get("from")) or user
    title = chat.get("title")
    return Incoming(
        platform="tg",
        chat_id=chat_key(chat["id"]),
        chat_kind="group",
        chat_title=title if isinstance(title, str) else None,
        sender_id=f"tg:{actor[0]}",
        sender_name=actor[1],
        sender_username=actor[2],
        text="",
        sent_at=datetime.fromtimestamp(date, UTC),
        # No message of its own: keyed by the update, so that nothing else shares the key.
        message_key=f"{chat_key(chat['id'])}:m{update['update_id']}",
        update_key=f"tg:update:{update['update_id']}",
        left=None if now else f"tg:{user[0]}",
        joined=(Newcomer(f"tg:{user[0]}", user[1], user[2]),) if now else (),
    )


def _button_data(markup: object) -> tuple[str, ...]:
    """The callback data of an inline keyboard as a message carries it (at most a few)."""
    if not isinstance(markup, dict):
        return ()
    rows = markup.get("inline_keyboard")
    found: list[str] = []
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if isinstance(data, str) and len(data) <= 64:
                found.append(data)
    return tuple(found[:16])


def chat_kind_of(message: dict[str, Any]) -> str:
    chat = message.get("chat")
    return "private" if isinstance(chat, dict) and chat.get("type") == "private" else "group"


def _document(found: Any) -> Document | None:
    if not isinstance(found, dict) or not isinstance(found.get("file_id"), str):
        return None
    name = found.get("file_name")
    size = _int(found.get("file_size")) or 0
    return Document(found["file_id"], name if isinstance(name, str) else "file", size)


class TelegramPlatform:
    name = "tg"
    title = "telegram"
    webhook_path = WEBHOOK_PATH
    secret_header = SECRET_HEADER

    def __init__(self, settings: Settings) -> None:
        assert settings.telegram_token is not None  # noqa: S101 (checked by the caller)
        # PTB's own defaults: many connections for sending, one for the long poll.
        self._poll_request = AiohttpRequest(connection_pool_size=1)
        self.bot = Bot(
            settings.telegram_token.get_secret_value(),
            base_url=f"{settings.telegram_api_url}/bot",
            base_file_url=f"{settings.telegram_api_url}/file/bot",
            request=AiohttpRequest(connection_pool_size=256),
            get_updates_request=self._poll_request,
        )
        self.pacer = Pacer.configured(settings)
        self._offset: int | None = None
        self._file_ids: dict[str, str] = {}

    def key(self, payload: dict[str, Any]) -> str:
        return f"tg:update:{payload['update_id']}"

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        return to_incoming(payload)

    def chat(self, payload: dict[str, Any]) -> str | None:
        message = (
            payload.get("message") or payload.get("edited_message") or payload.get("chat_member")
        )
        query = payload.get("callback_query")
        if isinstance(query, dict):
            message = query.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        return chat_key(chat["id"]) if isinstance(chat, dict) and "id" in chat else None

    def webhook_updates(self, data: Any) -> list[dict[str, Any]] | None:
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return [data]

    def webhook_answer(self) -> web.Response:
        return web.Response(text="ok")

    def is_group(self, chat_id: str) -> bool:
        return _is_group(chat_id)

    async def open(self, deps: Deps) -> None:
        await self.bot.initialize()  # getMe: a wrong token fails here
        username = self.bot.username
        if username:
            deps.bot_usernames.add(username.lower())
        log.info("telegram: @%s", username)

    async def listen(self, url: str | None, secret: str | None) -> None:
        await self.publish_commands()
        if url is None:
            await self.bot.delete_webhook()  # getUpdates is refused while one is set
            return
        await self.bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def fetch(self) -> list[dict[str, Any]]:
        # The updates as Telegram sent them, not as PTB's Update objects: they are stored as
        # JSON and read once, by `to_incoming`. (PTB's `get_updates` does the same request.)
        result = await self.bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": self._offset,
                "timeout": POLL_TIMEOUT,
                "allowed_updates": ALLOWED_UPDATES,
            },
            read_timeout=(self._poll_request.read_timeout or 0) + POLL_TIMEOUT,
        )
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    def fetched(self, payloads: list[dict[str, Any]]) -> None:
        # Confirmed by the next getUpdates, now that they are stored.
        self._offset = max(int(p["update_id"]) for p in payloads) + 1

    async def close(self) -> None:
        await self.bot.shutdown()

    async def download(self, file_id: str) -> bytes:
        found = await self.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    async def publish_commands(self) -> None:
        """The members' command menu, in Vietnamese by default and in English for English
        clients. Leaders and admins get theirs per group when their rights change (`Menu`)."""
        for language, code in (("vi", None), ("en", "en")):
            await self.bot.set_my_commands(_commands(language, ("member",)), language_code=code)

    async def send(self, chat_id: str, reply: Reply, *, reply_to: str | None) -> SendResult:
        target = int(chat_id.removeprefix("tg:"))
        group = _is_group(chat_id)
        try:
            if reply.answer is not None:
                await self.bot.answer_callback_query(
                    reply.answer.query,
                    text=reply.answer.text or None,
                    show_alert=reply.answer.alert,
                )
                return SendResult(SendOutcome.SENT)
            if reply.menu is not None:
                await self.publish_menu(target, reply.menu)
                return SendResult(SendOutcome.SENT)
            if reply.app_menu is not None and not group:
                text, url = reply.app_menu
                try:
                    await self.bot.set_chat_menu_button(
                        chat_id=target, menu_button=MenuButtonWebApp(text, WebAppInfo(url))
                    )
                except BadRequest as exc:
                    # The message still goes: the menu button is a convenience.
                    log.warning("telegram: menu button of %s not set: %s", target, exc)
            if reply.delete is not None:
                async with self.pacer.slot(chat_id, group=group):
                    await self._delete(target, int(reply.delete))
                return SendResult(SendOutcome.SENT)
            if reply.edit is not None:
                edited = await self._edit(chat_id, target, reply)
                if edited is not None or not reply.rich.lines:
                    return SendResult(SendOutcome.SENT, message_id=edited)
                # The message is gone (deleted by someone): the text comes as a new one.
            return await self._send(chat_id, target, reply, reply_to)
        except TelegramError as exc:
            return self._failed(chat_id, exc)

    async def _delete(self, target: int, message_id: int) -> None:
        try:
            await self.bot.delete_message(chat_id=target, message_id=message_id)
        except BadRequest as exc:
            # Already gone (or too old for a bot to delete, 48 hours): nothing left to do.
            log.info("telegram: message %s in %s not deleted: %s", message_id, target, exc)

    async def _edit(self, chat_id: str, target: int, reply: Reply) -> str | None:
        """The bot's message replaced by the reply's text and buttons (without text: only
        its buttons); its id, or None when there is no such message to edit any more."""
        assert reply.edit is not None  # noqa: S101 (checked by the caller)
        markup = inline_markup(reply)
        texts = telegram_html(reply.rich)
        try:
            async with self.pacer.slot(chat_id, group=_is_group(chat_id)):
                if not texts:
                    await self.bot.edit_message_reply_markup(
                        chat_id=target, message_id=int(reply.edit), reply_markup=markup
                    )
                else:
                    await self.bot.edit_message_text(
                        text=texts[0],
                        chat_id=target,
                        message_id=int(reply.edit),
                        parse_mode=ParseMode.HTML,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                        reply_markup=markup,
                    )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return reply.edit  # already as asked (a press repeated)
            log.info("telegram: message %s in %s not edited: %s", reply.edit, chat_id, exc)
            return None
        return reply.edit

    async def _send(
        self, chat_id: str, target: int, reply: Reply, reply_to: str | None
    ) -> SendResult:
        group = _is_group(chat_id)
        bot = self.bot
        quote = (
            ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        markup = reply_markup(reply)
        try:
            attachment = reply.attachment
            if attachment is None:
                texts = telegram_html(reply.rich)
                first: str | None = None
                for n, text in enumerate(texts):
                    last = n == len(texts) - 1
                    async with self.pacer.slot(chat_id, group=group):
                        sent = await bot.send_message(
                            chat_id=target,
                            text=text,
                            parse_mode=ParseMode.HTML,
                            link_preview_options=LinkPreviewOptions(is_disabled=True),
                            reply_parameters=quote if n == 0 else None,
                            # The buttons under the last part, where the person reads on.
                            reply_markup=markup if last else None,
                        )
                    first = first or str(sent.message_id)
                    if last and markup is not None:
                        first = str(sent.message_id)
                return SendResult(SendOutcome.SENT, message_id=first)
            captions = chunks(reply.rich, limit=CAPTION_LIMIT, render=html_line)
            caption = captions[0] if captions else None
            async with self.pacer.slot(chat_id, group=group):
                if attachment.kind == "photo":
                    key = hashlib.sha256(attachment.content).hexdigest()
                    sent = await bot.send_photo(
                        chat_id=target,
                        photo=self._file_ids.get(key, attachment.content),
                        caption=caption,
                        parse_mode=ParseMode.HTML,
                        reply_parameters=quote,
                        reply_markup=markup,
                    )
                    if sent.photo:
                        # Telegram keeps the upload: the next groups get it by reference.
                        self._file_ids[key] = sent.photo[-1].file_id
                else:
                    sent = await bot.send_document(
                        chat_id=target,
                        document=attachment.content,
                        filename=attachment.filename,
                        caption=caption,
                        parse_mode=ParseMode.HTML,
                        reply_parameters=quote,
                        reply_markup=markup,
                    )
            for text in captions[1:]:
                async with self.pacer.slot(chat_id, group=group):
                    await bot.send_message(chat_id=target, text=text, parse_mode=ParseMode.HTML)
            return SendResult(SendOutcome.SENT, message_id=str(sent.message_id))
        except TelegramError as exc:
            return self._failed(chat_id, exc)

    def _failed(self, chat_id: str, exc: TelegramError) -> SendResult:
        """What a refused or failed call means for the sender."""
        if isinstance(exc, RetryAfter):
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("telegram: 429 for %s, retry after %.0f s", chat_id, seconds)
            # Every method into that chat waits it out (or, for a call of no chat, all do).
            if chat_id:
                self.pacer.penalise(chat_id, seconds, group=_is_group(chat_id))
            else:
                self.pacer.penalise_all(seconds)
            return SendResult(SendOutcome.RETRY, retry_after=seconds, error=str(exc))
        if isinstance(exc, ChatMigrated):
            return SendResult(SendOutcome.MIGRATED, new_chat_id=f"tg:{exc.new_chat_id}")
        if isinstance(exc, Forbidden):
            return SendResult(SendOutcome.GONE, error=str(exc))
        if isinstance(exc, BadRequest):
            if "chat not found" in str(exc).lower():
                return SendResult(SendOutcome.GONE, error=str(exc))
            log.error("telegram: refused a message to %s: %s", chat_id, exc)
            return SendResult(SendOutcome.FAILED, error=str(exc))
        if isinstance(exc, OutcomeUnknown):
            # The request went out and no answer came: see scheduler/outbox.py, after_unknown.
            return SendResult(SendOutcome.UNKNOWN, error=str(exc))
        if isinstance(exc, TimedOut | NetworkError):
            # A 5xx, or no connection at all: not done, the sender backs off and tries again.
            return SendResult(SendOutcome.RETRY, retry_after=0.0, error=str(exc))
        return SendResult(SendOutcome.FAILED, error=str(exc))

    async def publish_menu(self, chat: int, menu: Menu) -> None:
        """One person's command menu in one group: all the commands their rights there allow,
        or back to the members' menu (the default scope's) when they hold none."""
        user = menu.person_id.removeprefix("tg:")
        if not user.isdigit():
            log.warning("telegram: no menu for %s, not a Telegram user", menu.person_id)
            return
        scope = BotCommandScopeChatMember(chat_id=chat, user_id=int(user))
        if set(menu.audiences) <= {"member"}:
            for code in (None, "en"):
                await self.bot.delete_my_commands(scope=scope, language_code=code)
            return
        for language, code in (("vi", None), ("en", "en")):
            await self.bot.set_my_commands(
                _commands(language, menu.audiences), scope=scope, language_code=code
            )


def _commands(language: str, audiences: Sequence[str]) -> list[BotCommand]:
    with i18n.use(language):
        return [
            BotCommand(c.name if language == "vi" else c.alias, i18n.gettext(c.describe))
            for c in listed(tuple(a for a in audiences if a in AUDIENCES))
            if c.describe is not None
        ]


def _inline_button(button: Button) -> InlineKeyboardButton:
    if button.kind == "link":
        return InlineKeyboardButton(button.text, url=button.data)
    if button.kind == "app":
        return InlineKeyboardButton(button.text, web_app=WebAppInfo(button.data))
    return InlineKeyboardButton(button.text, callback_data=button.data)


def inline_markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[_inline_button(b) for b in row] for row in reply.buttons])


def reply_markup(
    reply: Reply,
) -> InlineKeyboardMarkup | ForceReply | ReplyKeyboardMarkup | None:
    """The one markup a message can carry: buttons, a reply request, or a kept keyboard."""
    if reply.buttons:
        return inline_markup(reply)
    if reply.ask is not None:
        return ForceReply(selective=True, input_field_placeholder=reply.ask[:64] or None)
    if reply.keys:
        apps = dict(reply.key_apps)
        return ReplyKeyboardMarkup(
            [
                [KeyboardButton(k, web_app=WebAppInfo(apps[k])) if k in apps else k for k in row]
                for row in reply.keys
            ],
            resize_keyboard=True,
            is_persistent=True,
        )
    return None
