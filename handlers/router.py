"""The single entry point a transport calls: one update in, replies out, in one transaction."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from handlers import admin, audit, delegation, help, i18n, report, standing, targets, team
from handlers.context import Ctx
from handlers.flood import MAX_TEXT
from handlers.i18n import _
from handlers.incoming import Deps, Incoming, Reply
from handlers.richtext import Rich
from storage import people
from storage.db import transaction
from storage.folding import clean, fold

log = logging.getLogger(__name__)

Command = Callable[[Ctx], Awaitable[list[Reply]]]


class StorageUnavailable(Exception):
    """The database could not be reached; the update is to be handled again later."""

    def __init__(self, language: str) -> None:
        super().__init__("storage unavailable")
        self.language = language


def storage_notice(language: str) -> Reply:
    with i18n.use(language):
        return Reply(
            Rich().add(
                "⏳ ",
                _(
                    "The system is busy for a moment. Your message will be recorded when it is "
                    "back: do not send it again."
                ),
            )
        )


COMMANDS: dict[str, Command] = {
    "start": help.help_,
    "huong_dan": help.help_,
    "help": help.help_,
    "bao_cao": report.report,
    "report": report.report,
    "huy": report.undo,
    "undo": report.undo,
    "tien_do": standing.progress,
    "progress": standing.progress,
    "xep_hang": standing.leaderboard,
    "leaderboard": standing.leaderboard,
    "toi": report.me,
    "me": report.me,
    "lien_ket": admin.link,
    "link": admin.link,
    "so_ho": admin.households,
    "households": admin.households,
    "ngon_ngu": admin.language,
    "language": admin.language,
    "cap_quyen": delegation.grant,
    "grant": delegation.grant,
    "thu_quyen": delegation.revoke,
    "revoke": delegation.revoke,
    "to_truong": team.leader,
    "leader": team.leader,
    "ma_tham_gia": team.join_code,
    "joincode": team.join_code,
    "tham_gia": team.join,
    "join": team.join,
    "danh_sach": team.roster,
    "roster": team.roster,
    "thanh_vien": team.member,
    "member": team.member,
    "chi_tieu": targets.targets,
    "targets": targets.targets,
    "lich": targets.schedule,
    "schedule": targets.schedule,
    "nhat_ky": audit.audit,
    "audit": audit.audit,
    "tong_hop": standing.summary,
    "summary": standing.summary,
    "xuat": standing.export_workbook,
    "export": standing.export_workbook,
}
# Only a report is worth re-reading when its message is edited.
EDITABLE = frozenset({"bao_cao", "report"})

_COMMAND = re.compile(r"^\s*/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)(.*)$", re.S)


def _bare_command(text: str) -> tuple[str, str] | None:
    """In a 1:1 chat people type "báo cáo ho=5" or "tien do": up to three leading words that
    name a command, without the slash, accents optional."""
    original, folded = clean(text), fold(text)
    words = list(re.finditer(r"\S+", folded))
    for count in (3, 2, 1):
        if len(words) < count:
            continue
        name = "_".join(w.group() for w in words[:count])
        if name in COMMANDS:
            return name, original[words[count - 1].end() :].strip()
    return None


def parse_command(
    text: str, bot_usernames: set[str], *, bare: bool = False
) -> tuple[str, str] | None:
    """("bao_cao", "ho=12 …") from "/bao_cao@tcns_bot ho=12 …"; None when it is not a command
    or is addressed to another bot. With `bare`, also "bao cao ho=12 …"."""
    m = _COMMAND.match(text)
    if not m:
        return _bare_command(text) if bare else None
    addressee = m.group(2)
    if addressee and bot_usernames and addressee.lower() not in bot_usernames:
        return None
    return m.group(1).lower(), m.group(3).strip()


async def too_long(ctx: Ctx) -> list[Reply]:
    return ctx.reply(
        Rich().add("⚠️ ", _("That message is too long to be a command. Nothing was recorded."))
    )


async def not_understood(ctx: Ctx) -> list[Reply]:
    return ctx.reply(
        Rich().add("❓ ", _("I did not understand that. Send huong dan (or /huong_dan) for help."))
    )


async def handle(deps: Deps, msg: Incoming) -> list[Reply]:
    private = msg.chat_kind == "private"
    parsed = parse_command(msg.text, deps.bot_usernames, bare=private)
    if parsed is None and (not private or msg.edited or not msg.text.strip()):
        return []
    name, args = parsed if parsed is not None else ("", msg.text)
    command = COMMANDS.get(name) if parsed is not None else not_understood
    if msg.edited and name not in EDITABLE:
        return []
    if command is None and msg.chat_kind != "private":
        return []  # a command for another bot in the group, or a typo nobody asked us about
    deps.observer.count("update", msg.platform)
    allowed, wait, tell = deps.flood.check(msg.sender_id)
    if not allowed:
        if not tell:
            return []
        with i18n.use(deps.default_locale):
            return [
                Reply(
                    Rich().add(
                        "⏳ ",
                        _("You are sending faster than the bot takes; wait {seconds} s.").format(
                            seconds=max(1, round(wait))
                        ),
                    )
                )
            ]
    if len(msg.text) > MAX_TEXT:
        command, args = too_long, ""
    language = deps.default_locale
    try:
        async with transaction(deps.sessions) as session:
            if msg.update_key and not await people.mark_processed(session, key=msg.update_key):
                return []
            chat = await people.upsert_chat(
                session,
                chat_id=msg.chat_id,
                platform=msg.platform,
                kind=msg.chat_kind,
                title=msg.chat_title,
                person_id=msg.sender_id if msg.chat_kind == "private" else None,
            )
            person = await people.upsert_person(
                session,
                person_id=msg.sender_id,
                platform=msg.platform,
                name=msg.sender_name,
                username=msg.sender_username,
            )
            language = chat.language or deps.default_locale
            with i18n.use(language):
                if command is None:
                    return [Reply(Rich().add("❓ ", _("Unknown command. See /huong_dan.")))]
                ctx = Ctx(
                    deps=deps,
                    session=session,
                    msg=msg,
                    command=name,
                    args=args,
                    chat=chat,
                    person=person,
                )
                return await command(ctx)
    except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
        # The database is away. The update must stay where it waits (the inbox, or the
        # platform's redelivery), and the member must not send it again: that would double it.
        log.warning("database unavailable for %s: %s", msg.update_key or msg.message_key, exc)
        raise StorageUnavailable(language) from exc
    except IntegrityError:
        if msg.update_key:
            # Another worker took the same update between our check and our insert.
            log.info("update %s already handled elsewhere", msg.update_key)
            return []
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            log.warning("database connection lost for %s", msg.update_key or msg.message_key)
            raise StorageUnavailable(language) from exc
        log.exception("command /%s failed in %s", name, msg.chat_id)
        return _failure(language)
    except Exception:
        log.exception("command /%s failed in %s", name, msg.chat_id)
        return _failure(language)


def _failure(language: str) -> list[Reply]:
    """A fault of ours: the transaction was rolled back, so nothing was recorded."""
    with i18n.use(language):
        text = _("Something went wrong; nothing was recorded. Please try again shortly.")
    return [Reply(Rich().add("⚠️ ", text))]
