"""Telegram through python-telegram-bot: polling or webhook, updates to the neutral router."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
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
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.inbox import InboxWorker, WaitNotices
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.render import chunks, html_line, telegram_html
from bot.settings import Settings
from handlers import i18n, router
from handlers.commands import listed
from handlers.incoming import Deps, Incoming, Reply, SendOutcome, SendResult
from handlers.richtext import Rich

log = logging.getLogger(__name__)

# Opt in to PTB's coming behaviour (durations as timedelta) instead of a deprecation warning
# on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "edited_message"]
SEND_ATTEMPTS = 4
POLL_TIMEOUT = 20
CAPTION_LIMIT = 1024


def _is_group(chat_id: str) -> bool:
    return chat_id.removeprefix("tg:").startswith("-")


def coalesce(batch: list[tuple[Reply, int | None]]) -> list[tuple[Reply, int | None]]:
    """Text replies waiting for the same chat become one message; attachments stay apart."""
    texts = [(r, q) for r, q in batch if r.attachment is None]
    others = [(r, q) for r, q in batch if r.attachment is not None]
    if len(texts) <= 1:
        return texts + others
    merged = Rich()
    for n, (reply, _q) in enumerate(texts):
        if n:
            merged.blank()
        merged.extend(reply.rich)
    return [(Reply(merged, quote=False), None), *others]


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
    def __init__(self, settings: Settings, deps: Deps, inbox: InboxWorker | None = None) -> None:
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
        # Our own getUpdates loop stores updates before confirming them; PTB's Updater confirms
        # a batch as soon as it fetches the next one, processed or not.
        builder = builder.updater(None)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.inbox = inbox
        self._poller: asyncio.Task[None] | None = None
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.pacer = Pacer.configured(settings)
        self.metrics: Metrics | None = None
        self._pending: dict[str, list[tuple[Reply, int | None]]] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._file_ids: dict[str, str] = {}
        self._waiting = WaitNotices()
        self._unavailable: router.StorageUnavailable | None = None
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
            await self.app.bot.delete_webhook()  # getUpdates is refused while one is set
            self._poller = asyncio.create_task(self._poll())
        await self.app.start()
        log.info(
            "telegram: started as @%s (%s)", username, "webhook" if self.webhook else "polling"
        )

    async def stop(self) -> None:
        if self._poller is not None:
            # What the cancelled poll would have brought was never confirmed: it comes again.
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self.drain_replies()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def publish_commands(self) -> None:
        """The command menu, in Vietnamese by default and in English for English clients."""
        for language, code in (("vi", None), ("en", "en")):
            with i18n.use(language):
                commands = [
                    BotCommand(c.name if language == "vi" else c.alias, i18n.gettext(c.describe))
                    for c in listed()
                    if c.describe is not None
                ]
            await self.app.bot.set_my_commands(commands, language_code=code)

    async def accept(self, updates: list[dict[str, Any]]) -> None:
        """Takes updates from a poll or a webhook call: into the inbox (raising when it cannot,
        so they are not acknowledged), or straight to processing when there is no inbox."""
        if self.inbox is not None:
            await self.inbox.store(
                [(f"tg:update:{u['update_id']}", "tg", u) for u in updates if "update_id" in u]
            )
            return
        for data in updates:
            await self.process_payload(data)

    async def process_payload(self, data: dict[str, Any]) -> None:
        """Processes one stored update; raises StorageUnavailable to keep it for later."""
        update = Update.de_json(data, self.app.bot)
        self._unavailable = None
        await self.app.process_update(update)
        if self._unavailable is not None:
            raise self._unavailable

    async def _poll(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                )
                if updates:
                    await self.accept([u.to_dict() for u in updates])
                    # Confirmed by the next call, now that they are stored.
                    offset = updates[-1].update_id + 1
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram: getUpdates round failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = to_incoming(update)
        if msg is None:
            return
        try:
            replies = await router.handle(self.deps, msg)
        except router.StorageUnavailable as exc:
            notice = self._waiting.first(msg.update_key, exc)
            if notice is not None:
                self._queue_reply(msg.chat_id, notice, None)
            # PTB would hand an exception to its error handlers; process_payload raises it.
            self._unavailable = exc
            return
        source = update.edited_message or update.message
        for reply in replies:
            quote = source.message_id if source is not None and reply.quote else None
            self._queue_reply(msg.chat_id, reply, quote)

    # --- replies: queued per chat, coalesced while the chat waits for a slot ----------------

    def _queue_reply(self, chat_id: str, reply: Reply, reply_to: int | None) -> None:
        self._pending.setdefault(chat_id, []).append((reply, reply_to))
        if chat_id not in self._flushers:
            self._flushers[chat_id] = asyncio.create_task(self._flush(chat_id))

    async def _flush(self, chat_id: str) -> None:
        """Sends what is queued for a chat. While the chat waits for a slot (a group's 20 a
        minute), more replies pile up and leave as one message: a burst of reports right after
        a reminder costs a few messages, not one each, and none is lost."""
        try:
            group = _is_group(chat_id)
            while self._pending.get(chat_id):
                await asyncio.sleep(self.pacer.linger(chat_id, group=group))
                await self.pacer.ready(chat_id, group=group)
                batch = self._pending.pop(chat_id)
                for reply, reply_to in coalesce(batch):
                    for _attempt in range(SEND_ATTEMPTS):
                        result = await self.deliver(chat_id, reply, reply_to=reply_to)
                        if result.outcome is not SendOutcome.RETRY:
                            break
                        await asyncio.sleep(result.retry_after)
                    if result.outcome is not SendOutcome.SENT:
                        log.warning("telegram: reply to %s not sent: %s", chat_id, result)
        finally:
            self._flushers.pop(chat_id, None)

    async def drain_replies(self) -> None:
        """Waits until every queued reply has left (for a clean stop)."""
        while self._flushers:
            await asyncio.gather(*self._flushers.values(), return_exceptions=True)

    # --- Messenger: one post, and what became of it ---------------------------------------

    def handles(self, chat_id: str) -> bool:
        return chat_id.startswith("tg:")

    async def deliver(
        self,
        chat_id: str,
        reply: Reply,
        *,
        reply_to: int | None = None,
    ) -> SendResult:
        result = await self._deliver(chat_id, reply, reply_to=reply_to)
        if self.metrics is not None:
            self.metrics.sent("tg", result.outcome.value)
        return result

    async def _deliver(
        self,
        chat_id: str,
        reply: Reply,
        *,
        reply_to: int | None = None,
    ) -> SendResult:
        target = int(chat_id.removeprefix("tg:"))
        group = _is_group(chat_id)
        bot = self.app.bot
        quote = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            attachment = reply.attachment
            if attachment is None:
                for n, text in enumerate(telegram_html(reply.rich)):
                    async with self.pacer.slot(chat_id, group=group):
                        await bot.send_message(
                            chat_id=target,
                            text=text,
                            parse_mode=ParseMode.HTML,
                            link_preview_options=LinkPreviewOptions(is_disabled=True),
                            reply_parameters=quote if n == 0 else None,
                        )
                return SendResult(SendOutcome.SENT)
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
                    )
                    if sent.photo:
                        # Telegram keeps the upload: the next groups get it by reference.
                        self._file_ids[key] = sent.photo[-1].file_id
                else:
                    await bot.send_document(
                        chat_id=target,
                        document=attachment.content,
                        filename=attachment.filename,
                        caption=caption,
                        parse_mode=ParseMode.HTML,
                        reply_parameters=quote,
                    )
            for text in captions[1:]:
                async with self.pacer.slot(chat_id, group=group):
                    await bot.send_message(chat_id=target, text=text, parse_mode=ParseMode.HTML)
            return SendResult(SendOutcome.SENT)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("telegram: 429 for %s, retry after %.0f s", chat_id, seconds)
            self.pacer.penalise(chat_id, seconds, group=group)
            return SendResult(SendOutcome.RETRY, retry_after=seconds, error=str(exc))
        except ChatMigrated as exc:
            return SendResult(SendOutcome.MIGRATED, new_chat_id=f"tg:{exc.new_chat_id}")
        except Forbidden as exc:
            return SendResult(SendOutcome.GONE, error=str(exc))
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                return SendResult(SendOutcome.GONE, error=str(exc))
            log.error("telegram: refused a message to %s: %s", chat_id, exc)
            return SendResult(SendOutcome.FAILED, error=str(exc))
        except (TimedOut, NetworkError) as exc:
            # A timeout or a 5xx: the sender backs off. Whether a timed-out message arrived is
            # unknown; it is sent again (see scheduler/outbox.py, unknown outcome).
            return SendResult(SendOutcome.RETRY, retry_after=0.0, error=str(exc))
        except TelegramError as exc:
            return SendResult(SendOutcome.FAILED, error=str(exc))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: error while handling an update", exc_info=context.error)
