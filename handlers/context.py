"""The per-update context a command runs in: one session, the chat, the sender, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n
from handlers.incoming import Deps, Incoming, Reply
from handlers.periods import local_date
from handlers.richtext import Rich
from storage import people, roster, units
from storage.models import Chat, Person, Unit


@dataclass
class Ctx:
    deps: Deps
    session: AsyncSession
    msg: Incoming
    command: str
    args: str
    chat: Chat
    person: Person
    _team: tuple[Unit | None] | None = field(default=None, init=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.deps.timezone)

    @property
    def now(self) -> datetime:
        return self.deps.clock()

    @property
    def today(self) -> date:
        return local_date(self.now, self.tz)

    @property
    def is_private(self) -> bool:
        return self.msg.chat_kind == "private"

    @property
    def language(self) -> str:
        return self.chat.language or self.deps.default_locale

    async def unit(self) -> Unit | None:
        if self.chat.unit_id is not None:
            return await units.get(self.session, unit_id=self.chat.unit_id)
        if not self.is_private:
            return None
        # A private chat that reports for no team of its own: someone in a village's team (by
        # its group) is in that team here too.
        if self._team is None:
            self._team = (await roster.village_of(self.session, person_id=self.person.id),)
        return self._team[0]

    async def audit(
        self,
        action: str,
        *,
        unit_id: int | None,
        before: str | None = None,
        after: str | None = None,
    ) -> None:
        """Records a configuration change by the sender, in this chat."""
        await people.audit(
            self.session,
            actor_id=self.person.id,
            action=action,
            unit_id=unit_id,
            chat_id=self.chat.id,
            before=before,
            after=after,
        )

    def reply(self, rich: Rich) -> list[Reply]:
        return [Reply(rich=rich, quote=not self.is_private)]


def indicator_name(name_vi: str, name_en: str) -> str:
    return name_en if i18n.current() == "en" else name_vi
