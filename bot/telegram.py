"""Telegram through python-telegram-bot: polling or webhook, updates to the neutral router."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, timedelta
from typing import Any

from telegram import (
    BotCommand,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.render import telegram_html
from bot.settings import Settings
from handlers import i18n, router
from handlers.help import ADMIN_COMMANDS, LEADER_COMMANDS, MEMBER_COMMANDS
from handlers.incoming import Deps, Incoming, Reply

log = logging.getLogger(__name__)

# Opt in to PTB's coming behaviour (durations as timedelta) instead of a deprecation warning
# on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message"]
SEND_ATTEMPTS = 4


def chat_key(chat_id: int) -> str:
    return f"tg:{chat_id}"


def to_incoming(update: Update) -> Incoming | None:
    """The neutral message of an update, or None for what the bot does not read."""
    edited = update.edited_message is not None
    message: Message | None = update.edited_message or update.message
    if message is None or message.text is None or message.from_user is None:
        return None
    if message.from_user.is_bot:
        return None
    chat = message.chat
    sender = message.from_user
    reply_to = message.reply_to_message
    reply_user = reply_to.from_user if reply_to is not None else None
    if reply_user is not None and reply_user.is_bot:
        reply_user = None  # commands "as a reply" are about people, never about a bot
    return Incoming(
        platform="tg",
        chat_id=chat_key(chat.id),
        chat_kind="private" if chat.type == "private" else "group",
        chat_title=chat.title,
        sender_id=f"tg:{sender.id}",
        sender_name=sender.full_name,
        sender_username=sender.username,
        text=message.text,
        sent_at=message.date.astimezone(UTC),
        message_key=f"{chat_key(chat.id)}:{message.message_id}",
        edited=edited,
        update_key=f"tg:update:{update.update_id}",
        reply_to_id=f"tg:{reply_user.id}" if reply_user is not None else None,
        reply_to_name=reply_user.full_name if reply_user is not None else None,
    )


class TelegramTransport:
    def __init__(self, settings: Settings, deps: Deps) -> None:
        assert settings.telegram_token is not None  # noqa: S101 (checked by the caller)
        self.settings = settings
        self.deps = deps
        self.webhook = settings.webhook_base_url is not None
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            Application.builder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(f"{settings.telegram_api_url}/bot")
            .base_file_url(f"{settings.telegram_api_url}/file/bot")
        )
        if self.webhook:
            builder = builder.updater(None)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)

    async def start(self) -> None:
        await self.app.initialize()
        username = self.app.bot.username
        if username:
            self.deps.bot_usernames.add(username.lower())
        await self.publish_commands()
        if self.webhook:
            secret = self.settings.webhook_secret
            assert secret is not None  # noqa: S101 (settings refuse webhook mode without one)
            await self.app.bot.set_webhook(
                url=f"{self.settings.webhook_base_url}{WEBHOOK_PATH}",
                secret_token=secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            assert self.app.updater is not None  # noqa: S101 (built with one)
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=20)
        await self.app.start()
        log.info(
            "telegram: started as @%s (%s)", username, "webhook" if self.webhook else "polling"
        )

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def publish_commands(self) -> None:
        """The command menu, in Vietnamese by default and in English for English clients."""
        for language, code in (("vi", None), ("en", "en")):
            with i18n.use(language):
                commands = [
                    BotCommand(vi if language == "vi" else en, i18n.gettext(desc))
                    for vi, en, desc in MEMBER_COMMANDS + LEADER_COMMANDS + ADMIN_COMMANDS
                ]
            await self.app.bot.set_my_commands(commands, language_code=code)

    async def process_webhook(self, data: dict[str, Any]) -> None:
        """One webhook call; returning normally lets the server answer 2xx."""
        update = Update.de_json(data, self.app.bot)
        await self.app.process_update(update)

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = to_incoming(update)
        if msg is None:
            return
        replies = await router.handle(self.deps, msg)
        source = update.edited_message or update.message
        for reply in replies:
            await self.send(msg.chat_id, reply, reply_to=source.message_id if source else None)

    async def send(self, chat_id: str, reply: Reply, *, reply_to: int | None = None) -> None:
        target = int(chat_id.removeprefix("tg:"))
        for text in telegram_html(reply.rich):
            await self._send_one(target, text, reply_to if reply.quote else None)

    async def _send_one(self, chat_id: int, text: str, reply_to: int | None) -> None:
        for attempt in range(SEND_ATTEMPTS):
            try:
                await self.app.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_parameters=(
                        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                        if reply_to is not None
                        else None
                    ),
                )
                return
            except RetryAfter as exc:
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.warning("telegram: 429 for %s, waiting %.0f s", chat_id, seconds)
                await asyncio.sleep(seconds)
            except Forbidden:
                log.warning("telegram: chat %s refuses the bot", chat_id)
                return
            except BadRequest:
                log.exception("telegram: refused a message to %s", chat_id)
                return
            except TelegramError:
                if attempt == SEND_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(2**attempt)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: error while handling an update", exc_info=context.error)
