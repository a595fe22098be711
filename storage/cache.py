"""Read-mostly configuration kept per process: chats and their units, indicators, targets,
plans, who is a member where. An update reads none of it from the database while it holds.

It holds for one version of the configuration. Every transaction that changes configuration
(a chat linked, a target set, a plan applied, a member removed: found by the ORM's flush, so no
caller has to remember) adds one to the `config_version` row in the same transaction and drops
this process's copy when it commits. Another process (PostgreSQL, several `tcns run`) sees the
new number at the start of its next update and drops its own copy. Entries are tagged with the
version read at the start of the transaction that loaded them, and anything read after that
read is at least as new, so a copy is never older than its tag.

Only sessions that asked (`refresh`, once per transaction) use the cache; any other reads the
database as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.dialect import core
from storage.models import (
    AdminGrant,
    Chat,
    ConfigVersion,
    Indicator,
    Membership,
    PlanApplication,
    Schedule,
    Target,
    Unit,
)

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)

# Any change to these is a change of configuration...
_CONFIG = (Unit, Indicator, Target, PlanApplication, Schedule, AdminGrant)
# ...and to these, any change but a new row (a new member or chat changes nothing cached).
_CHANGED_NOT_NEW = (Chat, Membership)

_TABLE = ConfigVersion.__table__  # type: ignore[attr-defined]
_READ = sa.select(_TABLE.c.n).where(_TABLE.c.id == 1)
_BUMP = sa.update(_TABLE).where(_TABLE.c.id == 1).values(n=_TABLE.c.n + 1)

_KEY = "tcns_config_version"
_CHANGED = "tcns_config_changed"
_STAGED = "tcns_cache_staged"


class _Store:
    def __init__(self) -> None:
        self.version: int | None = None
        self.entries: dict[Hashable, Any] = {}

    def at(self, version: int) -> None:
        if version != self.version:
            self.entries.clear()
            self.version = version

    def forget(self) -> None:
        self.entries.clear()
        self.version = None


_stores: weakref.WeakKeyDictionary[Engine, _Store] = weakref.WeakKeyDictionary()


def _engine(session: AsyncSession | Session) -> Engine | None:
    bind = session.bind if isinstance(session, AsyncSession) else session.get_bind()
    if bind is None:
        return None
    engine = getattr(bind, "sync_engine", bind)
    return engine if isinstance(engine, Engine) else getattr(engine, "engine", None)


def _store(session: AsyncSession | Session) -> _Store | None:
    engine = _engine(session)
    if engine is None:
        return None
    found = _stores.get(engine)
    if found is None:
        found = _stores[engine] = _Store()
    return found


async def refresh(session: AsyncSession) -> None:
    """At the start of an update's transaction: the cache is valid for the version the
    database has now (one cheap read), and this session may use it. Once per transaction: the
    updates of an inbox round share one, and its first read holds for all of them."""
    if _KEY in session.info:
        return
    store = _store(session)
    version = (await core(session, _READ)).scalar()
    if store is None or version is None:
        return
    store.at(int(version))
    session.info[_KEY] = int(version)


def get(session: AsyncSession, key: Hashable) -> Any | None:
    """The cached value, or None (also when this session did not `refresh`)."""
    store = _store(session)
    if store is None or session.info.get(_KEY) != store.version:
        return None
    if session.info.get(_CHANGED):
        # This transaction changes configuration: what is kept may be older than what it
        # wrote (another worker may have kept rows it read before this one commits).
        return None
    staged = session.info.get(_STAGED)
    if staged is not None and key in staged:
        return staged[key]
    return store.entries.get(key)


def put_row(session: AsyncSession, key: Hashable, row: M) -> None:
    """Keeps a row this session read or wrote, unchanged since (`attach` copies it out)."""
    if not sa.inspect(row).modified:
        put(session, key, row)


def put(session: AsyncSession, key: Hashable, value: T) -> T:
    """Keeps `value` once this transaction commits (what it wrote may yet be rolled back);
    until then only this session sees it."""
    store = _store(session)
    if store is not None and session.info.get(_KEY) == store.version is not None:
        if session.info.get(_CHANGED):
            return value  # this transaction changes configuration: keep nothing it read
        session.info.setdefault(_STAGED, {})[key] = value
    return value


async def cached(session: AsyncSession, key: Hashable, load: Callable[[], Any]) -> Any:
    found = get(session, key)
    if found is not None:
        return found
    return put(session, key, await load())


def copy(row: M) -> M:
    """A detached copy of a row, for what is kept apart from any session (a list handed out
    to every caller)."""
    return type(row).model_validate(row)


async def attach(session: AsyncSession, row: M) -> M:
    """A kept row in this session, as it is in the database, without reading it again:
    changes to it are written by the next flush like any loaded row's. (The kept row itself
    stays as it is: the session gets its own instance.)"""
    state = sa.inspect(row)
    if state.transient:
        make_transient_to_detached(row)  # a row this process just inserted, kept as it is
    present = session.sync_session.identity_map.get(state.key) if state.key else None
    if present is not None:
        # Already in this session, perhaps changed and not flushed yet: merging the kept
        # copy over it would undo that.
        return present  # type: ignore[no-any-return]
    try:
        return await session.merge(row, load=False)
    except InvalidRequestError:
        # Changed meanwhile by the session that read it (a change of configuration, which
        # drops it from the cache as it commits): read it again.
        key: tuple[Any, ...] = tuple(state.identity or ())
        found = await session.get(type(row), key[0] if len(key) == 1 else key)
        assert found is not None  # noqa: S101 (it was there)
        return found


# --- noticing changes ----------------------------------------------------------------------


def _changes_configuration(session: Session) -> bool:
    for obj in session.new:
        if isinstance(obj, _CONFIG):
            return True
    for obj in session.deleted:
        if isinstance(obj, _CONFIG + _CHANGED_NOT_NEW):
            return True
    for obj in session.dirty:
        if isinstance(obj, _CONFIG + _CHANGED_NOT_NEW) and session.is_modified(obj):
            if isinstance(obj, Chat) and _only_title(obj):
                continue  # a group renamed: the cached row is compared by title before use
            return True
    return False


def _only_title(chat: Chat) -> bool:
    state = sa.inspect(chat)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    return changed <= {"title"}


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if not session.info.get(_CHANGED) and _changes_configuration(session):
        session.info[_CHANGED] = True
        session.info["tcns_bump"] = True
        # Nothing this transaction reads from here on may be cached as the current version.
        store = _store(session)
        if store is not None:
            store.forget()


@event.listens_for(Session, "after_flush_postexec")
def _after_flush(session: Session, _context: Any) -> None:
    if session.info.pop("tcns_bump", False):
        session.connection().execute(_BUMP)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    staged = session.info.pop(_STAGED, None)
    version = session.info.pop(_KEY, None)
    store = _store(session)
    if store is None:
        return
    if session.info.pop(_CHANGED, False):
        store.forget()
    elif staged and version is not None and version == store.version:
        store.entries.update(staged)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_STAGED, None)
    session.info.pop(_CHANGED, None)
    session.info.pop("tcns_bump", None)
    session.info.pop(_KEY, None)
