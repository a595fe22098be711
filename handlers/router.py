"""The single entry point a transport calls: one update in, replies out, in one transaction."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import (
    conversation,
    guided,
    i18n,
    offers,
    outgoing,
    report,
    roster,
    targets,
    team,
    upload,
)
from handlers.commands import BY_NAME, guarded
from handlers.context import Ctx
from handlers.flood import ANSWER, MAX_TEXT, Verdict
from handlers.i18n import _
from handlers.incoming import Deps, Incoming, Reply
from handlers.reading import strip_invisible
from handlers.richtext import Rich, code, joined, mention
from storage import cache, people
from storage.db import transaction
from storage.folding import clean, fold

log = logging.getLogger(__name__)

Command = Callable[[Ctx], Awaitable[list[Reply]]]
Claim = Callable[[AsyncSession], Awaitable[bool]]


class StorageUnavailable(Exception):
    """The database could not be reached; the update is to be handled again later."""

    def __init__(self, language: str) -> None:
        super().__init__("storage unavailable")
        self.language = language


def storage_notice(language: str, *, people: Sequence[tuple[str, str]] = ()) -> Reply:
    """The outage notice; `people` (id, name), when several wrote, are named in it."""
    with i18n.use(language):
        rich = Rich()
        if people:
            rich.add(*joined([mention(pid, name) for pid, name in people]), ":")
        return Reply(
            rich.add(
                "⏳ ",
                _(
                    "The system is busy for a moment. Your message will be recorded when it is "
                    "back: do not send it again."
                ),
            )
        )


COMMANDS: dict[str, Command] = {name: guarded(c) for name, c in BY_NAME.items()}
# Saying one leaves the team does not put one on it first.
_LEAVING = frozenset(name for name, c in BY_NAME.items() if c.run is team.leave)
EDITABLE = frozenset(name for name, c in BY_NAME.items() if c.editable)

_LOOSE = re.compile(r"^\s*/(?P<name>[^\s@=:]+)(?:@(?P<to>[A-Za-z0-9_]{3,64}))?(?P<rest>.*)$", re.S)
_COMMAND = re.compile(r"^\s*/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)(.*)$", re.S)


def _bare_command(text: str) -> tuple[str, str] | None:
    """In a 1:1 chat people type "báo cáo ho=5", "Báo cáo: hộ 2" or "tien do": up to three
    leading words that name a command, without the slash, accents optional."""
    original, folded = clean(text), fold(text)
    words = list(re.finditer(r"[^\s:,]+", folded))
    # "Dạ em báo cáo: …", "Vâng, tham gia …": courtesy before the command word.
    while words and words[0].group() in _COURTESY and len(words) > 1:
        words = words[1:]
    for count in (3, 2, 1):
        if len(words) < count:
            continue
        name = "_".join(w.group() for w in words[:count])
        if name in COMMANDS and not (name in _PRONOUNS and len(words) > count):
            rest = original[words[count - 1].end() :].strip()
            return name, rest[1:].strip() if rest.startswith(":") else rest
    return None


_SQUASHED = {name.replace("_", ""): name for name in COMMANDS}
# Commands that are also words people start a sentence with ("tôi báo cáo …" is no /toi).
_PRONOUNS = frozenset({"toi", "me"})
_COURTESY = frozenset({"da", "vang", "em", "xin", "chao", "a", "anh", "chi", "con", "chau"})


def correct_command(name: str, args: str) -> tuple[str, str] | None:
    """The command a mistyped one most likely means, with its arguments: "/baocao",
    "/bao cao ho=5", "/bao_ca ho=5", "/tiendo". None when nothing is close."""
    words = args.split(maxsplit=1)
    if words:
        joined = f"{name}_{fold(words[0])}"
        if joined in COMMANDS:
            return joined, words[1] if len(words) > 1 else ""
    squashed = re.sub(r"[^a-z0-9]", "", fold(name))
    if squashed in _SQUASHED:
        return _SQUASHED[squashed], args
    for short in sorted(_SQUASHED, key=len, reverse=True):
        # "/bao_caoho=5": the command and the first key run together.
        if len(short) >= 5 and squashed.startswith(short) and squashed != short:
            return _SQUASHED[short], f"{squashed[len(short) :]}{args}".strip()
    if len(name) < 4:
        return None
    found = process.extractOne(name, list(COMMANDS), scorer=fuzz.ratio, score_cutoff=80)
    return (found[0], args) if found is not None else None


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


def addressed_to_us(text: str, bot_usernames: set[str]) -> bool:
    m = _COMMAND.match(text)
    return bool(m and m.group(2) and m.group(2).lower() in bot_usernames)


async def too_long(ctx: Ctx) -> list[Reply]:
    return ctx.reply(
        Rich().add("⚠️ ", _("That message is too long to be a command. Nothing was recorded."))
    )


async def not_understood(ctx: Ctx) -> list[Reply]:
    rich = Rich().add(
        "❓ ", _("I did not understand that. Send huong dan (or /huong_dan) for help.")
    )
    if ctx.is_private and await ctx.unit() is None:
        rich.extend(report.join_hint())
    return ctx.reply(rich)


def did_you_mean(name: str, args: str) -> Command:
    async def answer(ctx: Ctx) -> list[Reply]:
        line = f"/{name} {args}".strip()
        if BY_NAME[name].run is guided.report_command and args:
            # The line as the reader understood it, so that sending it records what was meant.
            clean_line = await report.canonical(ctx, args)
            if clean_line is not None:
                line = f"/{name} {clean_line}"
        return ctx.reply(
            Rich()
            .add("❓ ", _("Did you mean this? Nothing was recorded yet; send it like this:"))
            .add(code(line))
        )

    return answer


class NotShared(Exception):
    """This update's command runs in a transaction of its own, not in a round's (see
    `handle`'s `within`); raised before anything of it has run."""


@dataclass(frozen=True)
class _Route:
    msg: Incoming  # with the text cleaned
    name: str
    args: str
    command: Command | None  # None: answered "unknown command"
    alone: bool  # its own transaction, never a round's
    press: bool = False  # a button pressed: answered at once, whatever the pace


def _route(deps: Deps, msg: Incoming) -> _Route | None:
    """What an update asks for; None when it asks nothing of us (a group's chatter, another
    bot's command). Reads the text only: nothing is counted or stored here."""
    if msg.press_id is not None:
        # A press has no date of its own: it happens now. Its data names what it is for.
        msg = replace(msg, sent_at=deps.clock())
        if msg.text.startswith(upload.PRESS):
            pressed = upload.on_press
        elif msg.text.startswith(targets.PRESS):
            pressed = targets.on_press
        elif roster.is_ours(msg.text):
            pressed = roster.on_press
        elif offers.is_ours(msg.text):
            pressed = conversation.on_press
        else:
            pressed = guided.on_press
        return _Route(msg, "", msg.text, pressed, alone=False, press=True)
    if msg.left is not None:
        return _Route(msg, "", "", team.left_group, alone=False)
    if msg.joined:
        return _Route(msg, "", "", roster.joined_group, alone=False)
    text = strip_invisible(msg.text)
    if text != msg.text:
        # A zero-width space after "/bao_cao" would hide the command from everything below.
        msg = replace(msg, text=text)
    private = msg.chat_kind == "private"
    if private and not msg.edited:
        key = guided.pressed_key(msg.text)
        if key is not None:  # a key of the private chat's keyboard
            keyed = guided.start if key == "guided" else COMMANDS[key]
            return _Route(msg, key, "", keyed, alone=False)
    parsed = parse_command(msg.text, deps.bot_usernames, bare=private)
    if parsed is None and not private and not msg.edited:
        loose = _LOOSE.match(msg.text)
        # "/bao-cao ho=2", "/bao_cáo ho=3": not a Telegram command at all, but meant for us.
        if loose and (not loose["to"] or loose["to"].lower() in deps.bot_usernames):
            candidate = (loose["name"], loose["rest"].strip())
            if correct_command(*candidate) is not None:
                parsed = candidate
    # In a group the bot sees a plain message as a reply to one of its own (privacy mode):
    # perhaps the answer to a guided report's question, or nothing for us. Where there are no
    # buttons (the console) every message comes, and may be one too.
    answer = msg.reply_to_bot is not None or not msg.buttons
    if parsed is None and not private and not msg.edited and msg.text.strip() and answer:
        # Not a guided report's answer: a reply to the bot is conversation (a correction, a
        # question, "ghi"); where every message comes (the console), nothing is said.
        fallback = conversation.on_reply if msg.reply_to_bot is not None else None
        return _Route(msg, "", msg.text, guided.text_or(fallback), alone=False)
    if parsed is None and msg.edited and (private or msg.reply_to_bot is not None):
        # An answer to a guided report's question, corrected: said not to count.
        return _Route(msg, "", msg.text, guided.edited_answer, alone=False)
    if parsed is None and (not private or msg.edited or not msg.text.strip()):
        return None
    name, args = parsed if parsed is not None else ("", msg.text)
    command = COMMANDS.get(name) if parsed is not None else conversation.free_text
    if command is None:
        typo = correct_command(name, args)
        if typo is not None:
            command = did_you_mean(*typo)
        elif not private and not addressed_to_us(msg.text, deps.bot_usernames):
            return None  # a command for another bot in the group
    if msg.edited and name not in EDITABLE:
        return None
    declared = BY_NAME.get(name)
    if private and not msg.edited and not _COMMAND.match(msg.text):
        # Typed in a private chat without a slash: an open guided report hears it first.
        bare_command = parsed is not None
        if not bare_command or guided.is_answer_word(msg.text):
            command = guided.text_or(command, command=bare_command)
    return _Route(msg, name, args, command, alone=declared is not None and declared.alone)


def answers(deps: Deps, msg: Incoming) -> bool:
    """Whether the bot would answer this message (a command, a report, a press…), told
    without the database: for the notice of an outage."""
    try:
        # Someone joining or leaving a group is no message to anyone.
        return _route(deps, msg) is not None and msg.left is None and not msg.joined
    except Exception:
        return False


async def handle(
    deps: Deps,
    msg: Incoming,
    *,
    claim: Claim | None = None,
    again: bool = False,
    within: AsyncSession | None = None,
    durable: bool = False,
) -> list[Reply]:
    """The replies to one update. `claim` (the inbox's) runs first in the transaction of the
    update's effects and marks it done there; when it says another worker has the update,
    nothing happens. Without it, the update's key is recorded instead (`mark_processed`).
    `again`: this is the one retry after a conflict with another worker's insert.

    `within`: a transaction several updates share (the inbox's rounds, bot/inbox.py), which
    this one joins instead of opening its own. Then nothing is caught: any error is the
    round's, which is rolled back whole and done again one update at a time, each in the
    usual way; and a command declared `alone` raises NotShared before it starts.

    `durable`: the replies go into the outbox in the same transaction (handlers/outgoing.py),
    to be sent from there; they are returned all the same."""
    route = _route(deps, msg)
    if route is None:
        return []
    if within is not None and route.alone:
        raise NotShared(route.name)
    msg, name, args, command = route.msg, route.name, route.args, route.command
    deps.observer.count("update", msg.platform)
    if len(msg.text) > MAX_TEXT:
        command, args = too_long, ""
    # Flood control holds back answers, never the message: over the limit it is processed as
    # usual and only its answer is replaced (see handlers/flood.py). An edit corrects a message
    # already counted, and is answered.
    verdict = (
        ANSWER
        if msg.edited or route.press
        else deps.flood.check(
            person=msg.sender_id,
            chat=msg.chat_id,
            sent_at=msg.sent_at,
            message_key=msg.message_key,
        )
    )
    if not verdict.answer:
        command = _unanswered(command, verdict)
    elif verdict.unanswered and command is not None:
        command = _noting_unanswered(command, verdict.unanswered)
    run = _Run(deps, msg, name, args, command, claim)
    if within is not None:
        replies = await run(within)
        if durable:
            await outgoing.keep(within, msg, replies)
        return replies
    try:
        async with transaction(deps.sessions) as session:
            replies = await run(session)
            if durable:
                await outgoing.keep(session, msg, replies)
            return replies
    except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
        # The database is away. The update must stay where it waits (the inbox, or the
        # platform's redelivery), and the member must not send it again: that would double it.
        log.warning("database unavailable for %s: %s", msg.update_key or msg.message_key, exc)
        raise StorageUnavailable(run.language) from exc
    except IntegrityError:
        if claim is not None:
            # The claim holds the update, so the conflict is with something else another
            # worker wrote meanwhile (the same new person's first messages in two chats). It
            # was all rolled back, the claim with it: once more, then a fault of ours.
            if not again:
                return await handle(deps, msg, claim=claim, again=True, durable=durable)
            log.exception("command /%s failed in %s", name, msg.chat_id)
            return await _failure(deps, msg, run.language, claim, durable=durable)
        if msg.update_key:
            # Another worker took the same update between our check and our insert.
            log.info("update %s already handled elsewhere", msg.update_key)
            return []
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            log.warning("database connection lost for %s", msg.update_key or msg.message_key)
            raise StorageUnavailable(run.language) from exc
        log.exception("command /%s failed in %s", name, msg.chat_id)
        return await _failure(deps, msg, run.language, claim, durable=durable)
    except Exception:
        log.exception("command /%s failed in %s", name, msg.chat_id)
        return await _failure(deps, msg, run.language, claim, durable=durable)


class _Run:
    """One update's work inside a transaction; remembers the chat's language for the answer
    to a failure after it."""

    def __init__(
        self,
        deps: Deps,
        msg: Incoming,
        name: str,
        args: str,
        command: Command | None,
        claim: Claim | None,
    ) -> None:
        self.deps, self.msg, self.name, self.args = deps, msg, name, args
        self.command, self.claim = command, claim
        self.language = deps.default_locale

    async def __call__(self, session: AsyncSession) -> list[Reply]:
        deps, msg = self.deps, self.msg
        if self.claim is not None:
            if not await self.claim(session):
                return []
        elif msg.update_key and not await people.mark_processed(session, key=msg.update_key):
            return []
        await cache.refresh(session)
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
        self.language = chat.language or deps.default_locale
        with i18n.use(self.language):
            if self.command is None:
                return [Reply(Rich().add("❓ ", _("Unknown command. See /huong_dan.")))]
            ctx = Ctx(
                deps=deps,
                session=session,
                msg=msg,
                command=self.name,
                args=self.args,
                chat=chat,
                person=person,
            )
            spoke = msg.press_id is None and msg.left is None and not msg.joined
            if spoke and self.name not in _LEAVING:
                await roster.heard(ctx)  # whoever speaks in a team's group is in it
            return await self.command(ctx)


async def _failure(
    deps: Deps, msg: Incoming, language: str, claim: Claim | None, *, durable: bool
) -> list[Reply]:
    """A fault of ours: the transaction was rolled back, so nothing was recorded. The update
    is done all the same (it is answered, and would fail the same way again)."""
    with i18n.use(language):
        text = _("Something went wrong; nothing was recorded. Please try again shortly.")
    replies = [Reply(Rich().add("⚠️ ", text))]
    if claim is not None or durable:
        async with transaction(deps.sessions) as session:
            if claim is not None:
                await claim(session)
            if durable:
                await outgoing.keep(session, msg, replies)
    return replies


def _unanswered(command: Command | None, verdict: Verdict) -> Command:
    """The command runs (a report over the limit is still recorded); its answer is the one
    notice of a slow-down, or nothing."""

    async def run(ctx: Ctx) -> list[Reply]:
        if command is not None:
            await command(ctx)
        if not verdict.notice:
            return []
        text = _(
            "You are sending faster than the bot answers. Your messages are still processed, "
            "but without an answer for about {seconds} s; /toi then shows your reports."
        ).format(seconds=max(1, round(verdict.wait)))
        return ctx.reply(Rich().add("⏳ ", text))

    return run


def _noting_unanswered(command: Command, count: int) -> Command:
    """The first answer after a slow-down says how many messages went without one."""

    async def run(ctx: Ctx) -> list[Reply]:
        replies = await command(ctx)
        text = _(
            "Messages processed without an answer while you were sending too fast: {count}. "
            "/toi shows your reports."
        )
        return [*replies, *ctx.reply(Rich().add("ℹ️ ", text.format(count=count)))]

    return run
