"""The tables. Every timestamp is stored in UTC; ids of chats and people carry their platform."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A moment, stored in UTC and always read back aware. (SQLite keeps no offset: without
    this, what it gives back is naive, and every reader had to repair it.)"""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive moment cannot be stored: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class Unit(SQLModel, table=True):
    """A node of the administrative tree: province, (district,) commune, village."""

    __tablename__ = "unit"
    __table_args__ = (
        sa.UniqueConstraint("level", "code", name="uq_unit_level_code"),
        sa.UniqueConstraint("join_code", name="uq_unit_join_code"),
        # A removed unit's id is never handed to a new one (SQLite reuses the highest free
        # rowid otherwise; PostgreSQL's sequences never go back).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    level: str = Field(max_length=16)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, index=True)
    # Ids from the root down to this unit, "/12/345/", so a subtree is one LIKE away whatever
    # the depth of the tree (older plans still have districts).
    path: str = Field(default="", max_length=200, index=True)
    households: int | None = None
    # The team's join code (`/tham_gia MÃ`), made on first request.
    join_code: str | None = Field(default=None, max_length=16)
    # The leader's name as a province's workbook gives it, kept until that person joins.
    leader_name: str | None = Field(default=None, max_length=255)
    # A commune's: the number of the last village code it gave ("20791-7": 7), so that a
    # removed or merged village's code is never given again.
    village_seq: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Chat(SQLModel, table=True):
    __tablename__ = "chat"

    id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(max_length=8)
    kind: str = Field(max_length=16)  # private | group
    title: str | None = Field(default=None, max_length=255)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    language: str | None = Field(default=None, max_length=8)
    active: bool = True
    # Whose private chat this is. On Telegram a private chat's id is its user's id; on Zalo
    # nothing promises that, so reminders and summaries find a person's chat through this.
    person_id: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: str = Field(primary_key=True, max_length=64)
    platform: str = Field(max_length=8)
    display_name: str = Field(max_length=255)
    username: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "unit_id", name="uq_membership"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=64)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(default="member", max_length=16)  # member | leader
    # youth_union, police, village_head, commune_staff, party, womens_union, veterans, other
    affiliation: str | None = Field(default=None, max_length=32)
    trained: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # As a workbook's members sheet gives it, if it does; shown only to the team's leader and
    # admins, privately, and never logged.
    phone: str | None = Field(default=None, max_length=20)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Indicator(SQLModel, table=True):
    __tablename__ = "indicator"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name_vi: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # households | count
    # Aliases as typed by people, one per line; folded when matched.
    aliases: str = Field(default="")
    position: int = 0
    default_target: int | None = None  # percent of households
    weight: float = 1.0
    # A plan may add indicators for its own subtree; None means everywhere.
    scope_unit_id: int | None = Field(default=None, foreign_key="unit.id")


class Target(SQLModel, table=True):
    """A unit's own target for an indicator; units without one inherit from above."""

    __tablename__ = "target"
    __table_args__ = (sa.UniqueConstraint("unit_id", "indicator_id", name="uq_target"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    # Percent of households for a household indicator; a plain count for a count indicator.
    percent: int
    weight: float | None = None


class AdminGrant(SQLModel, table=True):
    """Admin rights over a unit and everything under it."""

    __tablename__ = "admin_grant"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "unit_id", name="uq_admin_grant"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=64)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Schedule(SQLModel, table=True):
    """When a unit's reminder, summary or leaderboard goes out; units below inherit it."""

    __tablename__ = "schedule"
    __table_args__ = (sa.UniqueConstraint("unit_id", "job", name="uq_schedule"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    job: str = Field(max_length=16)  # reminder | summary | leaderboard
    weekday: int  # Monday 0 … Sunday 6
    minute: int  # minutes after local midnight


class PlanApplication(SQLModel, table=True):
    """The plan in force at a unit and below: grades, team sizes, unit-level goals."""

    __tablename__ = "plan_application"

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    name: str = Field(max_length=300)
    source: str = Field(max_length=300)
    grades: str  # JSON: [[lowest score, grade key], …] best first
    team_min: int
    team_max: int
    villages_with_team: int | None = None  # percent goal
    members_trained: int | None = None  # percent goal
    applied_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Report(SQLModel, table=True):
    __tablename__ = "report"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=64)
    chat_id: str = Field(foreign_key="chat.id", max_length=64)
    # "<chat id>:<message id>": an edit of the message finds and replaces its report, and the
    # same message delivered twice cannot insert a second row.
    message_key: str = Field(unique=True, max_length=128)
    week: str = Field(index=True, max_length=10)  # ISO week, "2026-W47"
    report_date: date
    note: str | None = Field(default=None, max_length=1000)
    source_text: str = Field(default="", max_length=4096)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    withdrawn_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ReportValue(SQLModel, table=True):
    __tablename__ = "report_value"

    report_id: int = Field(foreign_key="report.id", primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True)
    value: int


class UnitTotal(SQLModel, table=True):
    """Running sums per unit, indicator and period, kept in the report's own transaction.

    `period` is an ISO week ("2026-W47") or "all" for the campaign's cumulative figure. Every
    ancestor of the reporting unit is kept too, so a board costs what its scope costs.
    """

    __tablename__ = "unit_total"

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True)
    period: str = Field(primary_key=True, max_length=10)
    value: int = 0


class ProcessedUpdate(SQLModel, table=True):
    """Inbound updates already handled, so a redelivery is acknowledged and dropped."""

    __tablename__ = "processed_update"

    key: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AuditEntry(SQLModel, table=True):
    """Who changed which configuration, when, from what to what."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    actor_id: str = Field(max_length=64)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    chat_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=32)
    before: str | None = Field(default=None, max_length=1000)
    after: str | None = Field(default=None, max_length=1000)


class Media(SQLModel, table=True):
    """A file sent to many chats (a chart, a workbook), stored once by its hash."""

    __tablename__ = "media"

    key: str = Field(primary_key=True, max_length=64)  # sha256 hex
    filename: str = Field(max_length=200)
    mime: str = Field(max_length=100)
    content: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class Outbox(SQLModel, table=True):
    """Every message the bot sends but a button press's answer: a scheduled post (one per job,
    period and chat), a notice, and each reply to an update (job "reply", written in the
    update's own transaction). Sent in order chat by chat (scheduler/outbox.py), surviving
    restarts, crashes and outages."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("job", "period", "chat_id", name="uq_outbox"),
        # Each chat's oldest pending message, found without reading the others.
        sa.Index("ix_outbox_lane", "state", "chat_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32)
    period: str = Field(max_length=16)
    chat_id: str = Field(max_length=64, index=True)
    body: str  # the rich text, as JSON; rendered per platform when sent
    media_key: str | None = Field(default=None, foreign_key="media.key", max_length=64)
    media_kind: str | None = Field(default=None, max_length=16)  # photo | document
    # Buttons under the post, as JSON ([[[text, data], …], …]); rendered where a platform has them.
    buttons: str | None = None
    # The post replaces this message of the bot's (a guided report's card, closed), or only
    # deletes it (its question).
    edit_id: str | None = Field(default=None, max_length=32)
    delete_id: str | None = Field(default=None, max_length=32)
    # Where the post goes when `chat_id` refuses it (a leader who never opened the bot).
    fallback_chat_id: str | None = Field(default=None, max_length=64)
    state: str = Field(default="pending", max_length=16, index=True)  # pending | sent | failed
    # A reply quotes the message it answers (its id in the chat).
    reply_to: str | None = Field(default=None, max_length=32)
    # What else a reply asks of the platform (a reply request, a kept keyboard, a menu…), JSON.
    extra: str | None = None
    # When the attempt under way began: still set after a crash, the send's outcome is unknown.
    sending_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # An earlier attempt's outcome is unknown: the message may have arrived, so the next one
    # says it is sent again (scheduler/outbox.py, `after_unknown`).
    doubt: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    attempts: int = 0
    not_before: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Flow(SQLModel, table=True):
    """A guided report under way: one question at a time, then a confirmation (handlers/
    guided.py). Kept here, not in memory, so that it survives a restart."""

    __tablename__ = "flow"
    # The sweep for flows gone silent reads only the open ones.
    __table_args__ = (sa.Index("ix_flow_open", "ended_at", "touched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(foreign_key="chat.id", max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=64)
    unit_id: int = Field(foreign_key="unit.id")
    # "<chat id> <person id>" while the flow is open, None once it ended: one open flow per
    # person and chat, kept by the unique index (which lets any number be NULL).
    open_key: str | None = Field(default=None, max_length=130, unique=True, index=True)
    codes: str  # the indicators asked, in plan order, space-separated (fixed at the start)
    answers: str = "{}"  # JSON {code: value or null for skipped}
    step: int = 0  # index into `codes`; past the end: the confirmation
    mode: str = Field(default="ask", max_length=8)  # ask | confirm | choose (what to change)
    card_id: str | None = Field(default=None, max_length=32)  # the bot's message with buttons
    ask_id: str | None = Field(default=None, max_length=32)  # its ForceReply question
    asks: int = 0  # questions sent so far: a question sent before the latest is stale
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    touched_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # recorded | cancelled | expired | replaced (by a typed report)
    outcome: str | None = Field(default=None, max_length=16)
    report_id: int | None = Field(default=None, foreign_key="report.id")


class InboxUpdate(SQLModel, table=True):
    """An inbound update, stored before it is acknowledged and processed from here, so a crash
    at any instant loses nothing; its unique key turns a redelivery into a no-op."""

    __tablename__ = "inbox"
    # Each chat's oldest pending update, found without reading the others.
    __table_args__ = (sa.Index("ix_inbox_lane", "state", "chat_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)  # "tg:update:123", "zalo:message:ab12"
    platform: str = Field(max_length=8)
    # The chat's updates are processed in order, one at a time; other chats' meanwhile.
    chat_id: str | None = Field(default=None, max_length=64)
    payload: str  # the update as the platform sent it, JSON
    state: str = Field(default="pending", max_length=16, index=True)  # pending | done | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    done_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ConfigVersion(SQLModel, table=True):
    """One row: how many times configuration has changed, so that every process knows when
    its cached copy is out of date (storage/cache.py)."""

    __tablename__ = "config_version"

    id: int = Field(default=1, primary_key=True)
    n: int = 0


class Secret(SQLModel, table=True):
    """A server secret made once and shared by every worker: the key that signs the web links
    (handlers/weblinks.py). Kept in the database so that a restart does not void them."""

    __tablename__ = "secret"

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class WebPass(SQLModel, table=True):
    """A link to a web page, given to one holder for one purpose (handlers/weblinks.py). The
    address carries only a random token; this row says what it opens and for whom, so that the
    holder's rights are checked again at every request and a link can be withdrawn."""

    __tablename__ = "web_pass"

    # SHA-256 of the token, hex: the database never holds a working address.
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # dashboard | form | workbook
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(max_length=16)  # member | leader | admin
    # Who holds it: a person (a private chat's link), or a group chat (a link given there).
    person_id: str | None = Field(default=None, max_length=64, index=True)
    chat_id: str | None = Field(default=None, max_length=64)
    language: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Offer(SQLModel, table=True):
    """A reading the bot was not sure enough of to store, waiting for its author's one tap
    (handlers/offers.py): stored then through the same path as a typed report, under the
    message it was read from, so a second tap finds it stored and counts nothing."""

    __tablename__ = "offer"
    __table_args__ = (sa.Index("ix_offer_chat_person", "chat_id", "person_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(foreign_key="chat.id", max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=64)
    unit_id: int = Field(foreign_key="unit.id")
    # What a tap does: "new" stores a report under `message_key`; "fix" changes `report_id`'s
    # figures; "more" stores one more report though an identical one is there (a resend?).
    kind: str = Field(max_length=8)
    message_key: str = Field(max_length=128)
    report_id: int | None = Field(default=None, foreign_key="report.id")
    # The readings offered, one per button: JSON [report line, …] ("ho=5 app=2 ngay=18/11/2026").
    readings: str = "[]"
    source_text: str = Field(default="", max_length=4096)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    done_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
