"""`tcns chat`: talk to the bot in a terminal against the configured database, as a chosen person
in a chosen chat, to try commands before going live. Everything goes through the same router
as Telegram and Zalo; the replies are printed as plain text, files are written to the current
folder. Chats and people here live on their own platform ("console"), beside the real ones.

Lines starting with a colon change the scene:
    :as 7 Nguyễn Thị Lan     become person 7
    :chat -1001 Tổ CNS Hà Lam   move to group -1001 (":chat private" for the private chat)
    :quit
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot import app
from bot.render import plain
from bot.settings import Settings
from handlers import router
from handlers.incoming import Attachment, ChatKind, Deps, Incoming
from handlers.richtext import Rich
from storage import db, outbox

PLATFORM = "console"
HELP = "(:as ID NAME, :chat private|ID TITLE, :quit; then any command, e.g. /huong_dan)"


@dataclass
class Scene:
    person: str
    name: str
    chat: str  # "private" or a group id
    title: str

    @property
    def kind(self) -> ChatKind:
        return "private" if self.chat == "private" else "group"

    @property
    def chat_id(self) -> str:
        return f"{PLATFORM}:{self.person if self.kind == 'private' else self.chat}"

    def prompt(self) -> str:
        where = "private" if self.kind == "private" else self.title
        return f"{self.name} @ {where}> "


def _scene_change(scene: Scene, line: str) -> str | None:
    """Applies a ':' line; returns what to say about it."""
    word, _, rest = line[1:].partition(" ")
    if word == "as":
        ident, _, name = rest.strip().partition(" ")
        if not re.fullmatch(r"\d{1,15}", ident):
            return "usage: :as 7 Nguyễn Thị Lan"
        scene.person, scene.name = ident, name.strip() or f"#{ident}"
        return f"you are {scene.name} ({PLATFORM}:{ident})"
    if word == "chat":
        ident, _, title = rest.strip().partition(" ")
        if ident != "private" and not re.fullmatch(r"-\d{1,15}", ident):
            return "usage: :chat private, or :chat -1001 Tổ CNS thôn Hà Lam"
        scene.chat, scene.title = ident, title.strip() or scene.title
        return f"now in {'your private chat' if ident == 'private' else scene.title}"
    return HELP


def _read_line(stdin: TextIO, stdout: TextIO, prompt: str) -> str:
    """A line from the terminal with editing and history (readline: arrows, Ctrl-A…); from a
    pipe as it comes. "" at the end of the input."""
    if stdin is sys.stdin and stdout is sys.stdout and stdin.isatty():
        import readline  # noqa: F401  (imported for its effect on input())

        try:
            return input(prompt) + "\n"
        except EOFError:
            return ""
    stdout.write(prompt)
    stdout.flush()
    return stdin.readline()


def _save(attachment: Attachment) -> str:
    name = Path(attachment.filename).name or "tcns-file"
    Path(name).write_bytes(attachment.content)
    return name


async def _private_posts(deps: Deps, scene: Scene) -> list[str]:
    """What the bot sent the console's person privately (a join code, a leader's notice) while
    they are in a group: the console has no other way to show it. Marked sent once shown."""
    if scene.kind == "private":
        return []
    chat_id = f"{PLATFORM}:{scene.person}"
    async with db.transaction(deps.sessions) as session:
        posts = await outbox.lane(session, chat_id=chat_id, limit=50)
        if posts:
            ids = [p.id for p in posts if p.id is not None]
            await outbox.mark_sent(session, ids=ids, now=deps.clock())
    return [Rich.from_json(p.body).plain() for p in posts]


async def run_console(
    settings: Settings,
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    # Read at call time, not bound when the module was imported.
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    engine, sessions = await app.prepare_database(settings)
    deps = app.make_deps(settings, sessions)
    deps.superadmins = deps.superadmins | {f"{PLATFORM}:{args.person}"}
    scene = Scene(str(args.person), args.name, args.chat, args.title)
    if scene.chat != "private" and not re.fullmatch(r"-\d{1,15}", scene.chat):
        stdout.write("tcns: --chat is 'private' or a negative group id such as -1001\n")
        return 2
    stdout.write(f"tcns chat on {settings.database_url.split('///')[-1]}: you are a superadmin "
                 f"here. {HELP}\n")  # fmt: skip
    message_ids = itertools.count(1)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, _read_line, stdin, stdout, scene.prompt())
            if not line or line.strip() == ":quit":
                break
            text = line.rstrip("\n")
            if text.startswith(":"):
                stdout.write(f"  {_scene_change(scene, text)}\n")
                continue
            n = next(message_ids)
            msg = Incoming(
                platform=PLATFORM,
                chat_id=scene.chat_id,
                chat_kind=scene.kind,
                sender_id=f"{PLATFORM}:{scene.person}",
                sender_name=scene.name,
                text=text,
                sent_at=deps.clock(),
                buttons=False,  # a terminal has no buttons: guided reports ask in words
                message_key=f"{scene.chat_id}:{loop.time():.6f}:{n}",
                chat_title=scene.title if scene.kind == "group" else None,
                update_key=f"{PLATFORM}:{loop.time():.6f}:{n}",
            )
            for reply in await router.handle(deps, msg):
                if not reply.is_message:
                    continue
                for part in plain(reply.rich, 4096):
                    stdout.write("  " + part.replace("\n", "\n  ") + "\n")
                if reply.attachment is not None:
                    name = await loop.run_in_executor(None, _save, reply.attachment)
                    stdout.write(f"  [file written: {name}]\n")
            for text in await _private_posts(deps, scene):
                stdout.write("  [→ your private chat] " + text.replace("\n", "\n  ") + "\n")
    finally:
        await engine.dispose()
    return 0
