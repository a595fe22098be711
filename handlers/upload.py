"""`/nhap`: an admin sends a province's workbook as a file with the caption `/nhap` (in a private
chat or a commune's chat). The bot answers with the dry run and a button that applies it; both
are limited to the units the admin administers (handlers/importing.py does the work)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from handlers import importing, roles
from handlers.admin import denied
from handlers.context import Ctx
from handlers.export import XLSX_MIME
from handlers.i18n import _
from handlers.incoming import Answer, Attachment, Button, Document, Reply
from handlers.richtext import Rich, b, code, fmt, i
from handlers.views import number
from storage import config, outbox, units
from storage.models import Unit

PRESS = "i:"  # "i:<the first 32 hex digits of the file's hash>": apply that import
SHOWN = 30  # rows listed in the chat; the summary counts them all
MAX_TEMPLATE_COMMUNES = 200  # a province has about a hundred since 1 July 2025
MIME = "application/octet-stream"


async def _scope(ctx: Ctx) -> tuple[bool, Sequence[Unit] | None]:
    """Whether the sender administers anything, and what (None: a superadmin, everything)."""
    if roles.is_superadmin(ctx):
        return True, None
    granted = await config.granted_units(ctx.session, person_id=ctx.person.id)
    return bool(granted), granted


async def nhap(ctx: Ctx) -> list[Reply]:
    admin, scope = await _scope(ctx)
    if not admin:
        return ctx.reply(denied())
    document = ctx.msg.document
    if document is None:
        return await _template(ctx, scope)
    if document.content is None:
        limit = Document.MAX_BYTES // (1024 * 1024)
        return ctx.reply(
            Rich().add("⚠️ ", _("The file could not be read (at most {mb} MB).").format(mb=limit))
        )
    if document.unreadable is not None:
        return ctx.reply(Rich().add("⚠️ ", importing.unreadable(document.unreadable)))
    if document.table is None:
        return ctx.reply(Rich().add("⚠️ ", _("Send an .xlsx or a .csv file.")))
    tables = {"table": document.table, "others": document.others}
    result, problem = await _run(ctx, tables, scope)
    if problem is not None:
        return ctx.reply(Rich().add("⚠️ ", problem))
    assert result is not None  # noqa: S101 (no problem)
    rich = _report(result, applied=False, name=document.name)
    if not result.ok or not result.changes:
        return ctx.reply(rich)
    digest = hashlib.sha256(document.content).hexdigest()
    await outbox.keep_file(
        ctx.session, key=digest, filename=document.name, mime=MIME, content=document.content
    )
    # The table as it was read, for "Apply": not read again inside the press's transaction.
    await outbox.keep_file(ctx.session, key=_table_key(document.content),
                           filename=f"{document.name}.json", mime="application/json",
                           content=json.dumps(tables, default=str).encode())  # fmt: skip
    buttons = ((Button("✅ " + _("Apply"), f"{PRESS}{digest[:32]}"),),)
    return [Reply(rich, quote=not ctx.is_private, buttons=buttons)]


async def on_press(ctx: Ctx) -> list[Reply]:
    """ "Apply" under a dry run: the same file imported for real, by an admin of its rows."""
    press = ctx.msg.press_id
    assert press is not None  # noqa: S101 (a press)
    message = ctx.msg.message_key.rsplit(":", 1)[-1]
    admin, scope = await _scope(ctx)
    if not admin:
        return [Reply(Rich(), answer=Answer(press, denied().plain()[:200], alert=True))]
    kept = await outbox.file_by_prefix(ctx.session, prefix=ctx.args.removeprefix(PRESS))
    if kept is None:
        gone = _("That file is no longer here: send it again.")
        return [Reply(Rich(), answer=Answer(press, gone, alert=True))]
    table = await outbox.media(ctx.session, key=_table_key(kept.content))
    if table is None:
        gone = _("That file is no longer here: send it again.")
        return [Reply(Rich(), answer=Answer(press, gone, alert=True))]
    result, problem = await _run(ctx, json.loads(table.content), scope, apply=True)
    if problem is not None or result is None:
        text = problem or ""
        return [Reply(Rich(), answer=Answer(press, text[:200], alert=True))]
    if not result.ok:
        # Someone else's rows, or changed since the dry run: said to the presser alone; the
        # dry run and its button stay for whoever may apply it.
        first = next(o.line for o in result.outcomes if o.status == "error")
        return [Reply(Rich(), answer=Answer(press, f"{_('Not imported')}: {first}"[:200], True))]
    rich = _report(result, applied=True, name=kept.filename)
    return [
        Reply(Rich(), answer=Answer(press, _("Imported"))),
        Reply(rich, quote=False, edit=message),  # the dry run becomes what was done
    ]


def _table_key(content: bytes) -> str:
    return hashlib.sha256(content + b"\0table").hexdigest()


async def _run(
    ctx: Ctx, tables: object, scope: Sequence[Unit] | None, *, apply: bool = False
) -> tuple[importing.Result | None, str | None]:
    """The import of the file's tables as this admin may make it: applied in the update's
    transaction, or (a dry run) in a savepoint rolled back. `tables`: {"table": the first
    sheet's, "others": the other sheets' by name}, or (kept by an older version) the first
    sheet's alone."""
    indicators = await config.all_indicators(ctx.session)
    first = tables.get("table") if isinstance(tables, dict) else tables
    others = tables.get("others") if isinstance(tables, dict) else None
    try:
        read = importing.tables_of(
            first if isinstance(first, list) else [],
            others if isinstance(others, dict) else {},
            indicators,
        )
    except importing.ImportError_ as exc:
        return None, str(exc)
    savepoint = await ctx.session.begin_nested()
    result = await importing.run(
        ctx.session, read.rows, actor_id=ctx.person.id, scope=scope, indicators=indicators,
        members=read.members,
    )  # fmt: skip
    result.ignored = read.ignored
    result.skipped = read.skipped
    if apply and result.ok:
        await savepoint.commit()
    else:
        await savepoint.rollback()
    return result, None


def _report(result: importing.Result, *, applied: bool, name: str) -> Rich:
    rich = Rich().add("📥 ", fmt(_("Import of {file}"), file=b(name)))
    errors = [o for o in result.outcomes if o.status == "error"]
    # The rows that need the admin first: every error, then the changes.
    shown = errors or [o for o in result.outcomes if o.status != "unchanged"]
    for outcome in shown[:SHOWN]:
        rich.add(("❌ " if outcome.status == "error" else "• ") + outcome.shown(applied=applied))
    if len(shown) > SHOWN:
        rich.add(i(_("… and {count} more rows").format(count=number(len(shown) - SHOWN))))
    first, *rest = result.summary(applied=applied)
    if applied:
        rich.add("✅ ", b(first))
    else:
        rich.add(b(first))
    for line in rest:
        rich.add(line)
    if result.ok and not applied and result.changes:
        rich.add("👇 ", _("Press “Apply” to make these changes."))
    return rich


async def _template(ctx: Ctx, scope: Sequence[Unit] | None) -> list[Reply]:
    """How to import, with the template to fill (the communes of the units the admin
    administers already in it, so that nobody has to look codes up)."""
    rich = (
        Rich()
        .add("📥 ", _("Send the workbook as a file, with /nhap as its caption."))
        .add(_("Sheet “Thôn”, one row per village: “Mã xã” (or “Xã” and “Tỉnh”), “Thôn”, "
               "“Số hộ”; optionally a column per indicator's target and “Tổ trưởng”."))
        .add(_("Sheet “Thành viên”, one row per member: “Thôn” (or “Mã thôn”), “Họ và tên”, "
               "optionally “Điện thoại”, “Đoàn thể”, “Đã tập huấn”."))
        .add(_("The sheet “Hướng dẫn” explains each column; the rows marked “Ví dụ” are not "
               "imported. Send the file back as it is first: the bot only shows what it would "
               "do, and does it when you press “Apply”."))
    )  # fmt: skip
    if ctx.msg.platform == "zalo":
        # Zalo's Bot API sends files only by address, and tcns serves none.
        command = code("tcns import --template mau.xlsx --province 48")
        return ctx.reply(rich.add(fmt(_("A ready template: {command}"), command=command)))
    communes, province = await _communes(ctx, scope)
    content = importing.template(communes, province)
    name = f"mau-nhap-{province.code}.xlsx" if province is not None else "mau-nhap.xlsx"
    attachment = Attachment(name, content, "document", XLSX_MIME)
    return [Reply(rich, quote=not ctx.is_private, attachment=attachment)]


async def _communes(ctx: Ctx, scope: Sequence[Unit] | None) -> tuple[list[Unit], Unit | None]:
    """The communes the admin administers (a province's, a commune's own; for the operator,
    the chat's), all of one province, and that province."""
    where = list(scope) if scope is not None else [u for u in [await ctx.unit()] if u]
    found: dict[int, Unit] = {}
    for unit in where:
        if unit.level == "commune":
            communes = [unit]
        elif unit.level == "village":
            parent = await units.get(ctx.session, unit_id=unit.parent_id or 0)
            communes = [parent] if parent is not None else []
        else:
            assert unit.id is not None  # noqa: S101 (stored)
            children = await units.children(ctx.session, unit_id=unit.id)
            communes = [c for c in children if c.level == "commune"]
        found.update({c.id: c for c in communes if c.id is not None})
    if not found:
        return [], None
    ordered = sorted(found.values(), key=lambda c: int(c.code) if c.code.isdigit() else 0)
    province = await units.get(ctx.session, unit_id=ordered[0].parent_id or 0)
    same = [c for c in ordered if c.parent_id == ordered[0].parent_id]
    return same[:MAX_TEMPLATE_COMMUNES], province
