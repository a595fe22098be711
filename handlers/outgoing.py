"""Replies kept in the outbox: written in the transaction of the update they answer, so that a
reply is as durable as what it confirms — a crash, a restart or an outage of any length delays
it and never loses it — and sent from there, chat by chat in order, by the one sender that also
sends the scheduled posts (scheduler/outbox.py).

Only the answer to a button press is not kept: Telegram wants it within seconds, the person is
waiting for it, and late it would be worth nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.incoming import (
    Attachment,
    Button,
    Buttons,
    Deps,
    Incoming,
    Menu,
    Remember,
    Reply,
    buttons_from_json,
    buttons_to_json,
)
from handlers.richtext import Rich
from storage import outbox
from storage.db import transaction
from storage.models import Outbox


def quoted(msg: Incoming, reply: Reply) -> str | None:
    """The message a reply quotes: the member's own (a press's answer quotes nothing)."""
    if not reply.quote or msg.press_id is not None:
        return None
    return msg.message_key.rsplit(":", 1)[-1]


def _extra(reply: Reply) -> str | None:
    extra: dict[str, Any] = {}
    if reply.ask is not None:
        extra["ask"] = reply.ask
    if reply.keys:
        extra["keys"] = [list(row) for row in reply.keys]
    if reply.key_apps:
        extra["key_apps"] = [list(pair) for pair in reply.key_apps]
    if reply.app_menu is not None:
        extra["app_menu"] = list(reply.app_menu)
    if reply.remember is not None:
        r = reply.remember
        extra["remember"] = [r.flow_id, r.slot, r.ask]
    if reply.menu is not None:
        extra["menu"] = [reply.menu.person_id, list(reply.menu.audiences)]
    personal = [b.data for row in reply.buttons for b in row if b.personal]
    if personal:
        extra["personal"] = personal
    return json.dumps(extra, ensure_ascii=False) if extra else None


async def keep(session: AsyncSession, msg: Incoming, replies: Sequence[Reply]) -> None:
    """The replies to `msg` (all but a press's answer) into the outbox, in this transaction."""
    rows: list[dict[str, Any]] = []
    for reply in replies:
        if reply.answer is not None:
            continue
        row: dict[str, Any] = {
            "chat_id": msg.chat_id,
            "body": reply.rich.to_json(),
            "buttons": buttons_to_json(reply.buttons),
            "edit_id": reply.edit,
            "delete_id": reply.delete,
            "reply_to": quoted(msg, reply),
            "extra": _extra(reply),
        }
        if reply.attachment is not None:
            content = reply.attachment.content
            key = hashlib.sha256(content).hexdigest()
            await outbox.keep_file(session, key=key, filename=reply.attachment.filename,
                                   mime=reply.attachment.mime, content=content)  # fmt: skip
            row["media_key"], row["media_kind"] = key, reply.attachment.kind
        rows.append(row)
    await outbox.add_replies(session, rows=rows)


async def keep_now(deps: Deps, msg: Incoming, replies: Sequence[Reply]) -> None:
    """The same, in a transaction of its own (the web form's answer, kept once it is known to
    be one the chat should see)."""
    async with transaction(deps.sessions) as session:
        await keep(session, msg, replies)


def reply_of(row: Outbox, attachment: Attachment | None) -> Reply:
    """The reply (or post) a row keeps, as a platform sends it."""
    extra: dict[str, Any] = json.loads(row.extra) if row.extra else {}
    personal = set(extra.get("personal", ()))
    buttons: Buttons = buttons_from_json(row.buttons)
    if personal:
        buttons = tuple(
            tuple(Button(b.text, b.data, personal=b.data in personal, kind=b.kind) for b in r)
            for r in buttons
        )
    remember = extra.get("remember")
    menu = extra.get("menu")
    app_menu = extra.get("app_menu")
    return Reply(
        Rich.from_json(row.body),
        quote=row.reply_to is not None,
        attachment=attachment,
        buttons=buttons,
        ask=extra.get("ask"),
        keys=tuple(tuple(k) for k in extra.get("keys", ())),
        key_apps=tuple((str(a), str(b)) for a, b in extra.get("key_apps", ())),
        app_menu=(str(app_menu[0]), str(app_menu[1])) if app_menu else None,
        edit=row.edit_id,
        delete=row.delete_id,
        remember=Remember(int(remember[0]), remember[1], int(remember[2])) if remember else None,
        menu=Menu(str(menu[0]), tuple(menu[1])) if menu else None,
    )
