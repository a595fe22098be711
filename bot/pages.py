"""The web pages under /web/, served by the bot's own aiohttp server: a unit's dashboard behind a
signed pass (handlers/weblinks.py), its workbook for admins, the charts sent to Zalo by address,
and the report form Telegram opens as a Mini App (its initData checked: handlers/initdata.py).

Rendered on the server from Jinja2 templates (bot/templates), in the viewer's language; charts
are inline SVG, so a dashboard is one small self-contained response and reads without
JavaScript. Only the form runs a few lines of script: Telegram hands the Mini App its signed
initData in the page's address fragment, which never reaches a server by itself.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import secrets as random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from bot.page_guard import BUSY_SECONDS, REFUSED, PageGuard
from bot.render import html_line
from bot.transport import Transport
from handlers import dashboard as dashboards
from handlers import i18n, outgoing, router, views
from handlers.context import indicator_name
from handlers.export import XLSX_MIME, workbook
from handlers.incoming import Deps, Incoming
from handlers.initdata import WebAppUser, validate
from handlers.periods import local_date, quarter_of, report_window, week_key
from handlers.progress import unit_progress
from handlers.richtext import Rich
from handlers.web_access import CHART_PATH, DASHBOARD_PATH, FORM_PATH, WORKBOOK_PATH
from handlers.weblinks import SECRET_NAME, Kind, Pass, check, check_chart, workbook_pass
from storage import config, outbox, people, reports, secrets, units
from storage.db import transaction
from storage.models import Unit
from storage.passes import well_formed

log = logging.getLogger(__name__)

FORM_FIELDS = 40  # more indicators than any plan has; a bigger form is not ours
NOTE_CHARS = 500
_PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037")


@functools.cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, lambda s, p, n: i18n.gettext(s if n == 1 else p), newstyle=False
    )
    env.filters["n"] = lambda v, pattern="#,##0.#": views.number(v, pattern)
    env.filters["pct"] = views.percent
    env.filters["grade"] = views.grade_name
    env.globals["indicator_name"] = lambda ind: indicator_name(ind.name_vi, ind.name_en)
    return env


def render(template: str, *, language: str, **values: Any) -> str:
    with i18n.use(language):
        return _templates().get_template(template).render(language=i18n.current(), **values)


# --- safe headers --------------------------------------------------------------------------


def _headers(response: web.StreamResponse, nonce: str, *, framed: bool) -> None:
    """No page may load anything from elsewhere, run anything but its own nonce'd script, or
    send a form elsewhere; the pass in the address must not leak in a Referer. The form is a
    Mini App, which Telegram's web client shows in a frame; nothing else is framed."""
    ancestors = "https://web.telegram.org https://*.telegram.org" if framed else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        f"img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not framed:
        response.headers["X-Frame-Options"] = "DENY"


def _baseline(response: web.StreamResponse) -> None:
    """A response made elsewhere (aiohttp's 404 and 405, an error): still nothing to run."""
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def safe_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer under /web/ carries the safe headers, a failure included (and a failure
    says no more than that)."""
    if not request.path.startswith("/web/"):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _baseline(exc)
        raise
    except Exception:
        # The route, not the path: a path holds a live link's token.
        route = request.match_info.route.resource
        log.exception("web: %s %s failed", request.method,
                      route.canonical if route is not None else "?")  # fmt: skip
        response = web.Response(status=500, text="500: tcns could not show this page")
    _baseline(response)
    return response


def _page(
    template: str, *, language: str, status: int = 200, framed: bool = False, **values: Any
) -> web.Response:
    nonce = random.token_urlsafe(16)
    body = render(template, language=language, nonce=nonce, **values)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    _headers(response, nonce, framed=framed)
    return response


# --- the dashboard's pictures --------------------------------------------------------------


@dataclass(frozen=True)
class TrendLine:
    name: str
    colour: str
    points: str  # "x,y x,y …" in the chart's coordinates
    last: float


def trend_lines(
    trend: dashboards.Trend, *, width: int = 320, height: int = 150
) -> list[TrendLine]:
    """Each household indicator's share week by week, as a polyline 0–100 % high."""
    count = max(1, len(trend.labels) - 1)
    lines = []
    for index, series in enumerate(trend.series):
        points = " ".join(
            f"{round(width * n / count, 1)},{round(height - height * min(v, 100.0) / 100, 1)}"
            for n, v in enumerate(series.values)
        )
        colour = _PALETTE[index % len(_PALETTE)]
        lines.append(
            TrendLine(series.name, colour, points, series.values[-1] if series.values else 0)
        )
    return lines


# --- rendering a dashboard (the page, and the demo's file) ---------------------------------


async def dashboard_html(
    deps: Deps,
    *,
    unit: Unit,
    granted: Pass,
    today: date,
    secret: bytes | None,
    nonce: str = "",
    offline: bool = False,
) -> str:
    """The dashboard page. `secret`: signs the workbook's link (admins); `nonce`: the page's
    style may run under the Content-Security-Policy; `offline`: a file with no links back to
    the server (the demo's)."""
    async with deps.sessions() as session:
        with i18n.use(granted.language):
            board = await dashboards.build(session, unit=unit, granted=granted, today=today)
    below_links: dict[int | None, str] = {}
    workbook_url = None
    if granted.token and not offline:
        # The units below open under the admin's own link, named by what never changes.
        for child in board.below:
            below_links[child.id] = f"{DASHBOARD_PATH}{granted.token}/{child.level}/{child.code}"
        if granted.sees_all and secret is not None:
            async with transaction(deps.sessions) as session:
                token = await workbook_pass(
                    session, secret, of=granted, unit=unit, now=deps.clock()
                )
            workbook_url = WORKBOOK_PATH + token
    return render(
        "dashboard.html",
        language=granted.language,
        nonce=nonce,
        d=board,
        granted=granted,
        lines=trend_lines(board.trend),
        links=below_links,
        workbook=workbook_url,
        until=granted.expires.astimezone(_zone(deps)),
        offline=offline,
    )


def _zone(deps: Deps) -> ZoneInfo:
    return ZoneInfo(deps.timezone)


# --- the routes ----------------------------------------------------------------------------


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Pages:
    def __init__(
        self,
        deps: Deps,
        *,
        bot_token: str | None,
        telegram: Transport | None = None,
        guard: PageGuard | None = None,
    ) -> None:
        self.deps = deps
        self.bot_token = bot_token
        self.telegram = telegram
        self._key: bytes | None = None
        self.guard = guard or PageGuard()

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(DASHBOARD_PATH + "{token}", self.dashboard)
        app.router.add_get(DASHBOARD_PATH + "{token}/{level}/{code}", self.dashboard)
        app.router.add_get(WORKBOOK_PATH + "{token}", self.workbook)
        app.router.add_get(CHART_PATH + "{token}", self.chart)
        app.router.add_get(FORM_PATH, self.form_shell)
        app.router.add_post(FORM_PATH, self.form_post)

    @property
    def today(self) -> date:
        return local_date(self.deps.clock(), _zone(self.deps))

    async def _secret(self) -> bytes:
        """The signing key: made once and never changed, so read once per process rather than
        in a transaction of every request."""
        if self._key is None:
            async with transaction(self.deps.sessions) as session:
                self._key = await secrets.named(session, name=SECRET_NAME)
        return self._key

    async def _open(
        self, request: web.Request, token: str, kind: Kind, *, form: bool = False
    ) -> tuple[Pass, Unit] | web.Response:
        """The pass and its unit, when the token is an open link of this kind whose holder
        still holds what it was given for; else the answer: 429 for a link asked too often,
        403 for one that is not (or no longer) good."""
        found = None
        if well_formed(token):
            async with self.deps.sessions() as session:
                found = await check(session, token, kind=kind, now=self.deps.clock(),
                                    superadmins=self.deps.superadmins)  # fmt: skip
        # A good link is paced by itself; every address that is none shares one allowance.
        wait = self.guard.admit(token if found is not None else REFUSED)
        if wait:
            return self._busy(request, wait)
        return found if found is not None else self._refused(request, form=form)

    def _refused(self, request: web.Request, *, form: bool = False) -> web.Response:
        language = _language(request.headers.get("Accept-Language"), self.deps.default_locale)
        return _page("refused.html", language=language, status=403, framed=form, form=form)

    def _busy(self, request: web.Request, wait: int) -> web.Response:
        """Too many requests through one link, or pages queued behind each other: later."""
        language = _language(request.headers.get("Accept-Language"), self.deps.default_locale)
        response = _page("busy.html", language=language, status=429, seconds=wait)
        response.headers["Retry-After"] = str(wait)
        return response

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        found = await self._open(request, request.match_info["token"], "dashboard")
        if isinstance(found, web.Response):
            return found
        granted, unit = found
        level, code = request.match_info.get("level"), request.match_info.get("code")
        if level is not None and code is not None:
            # A unit under an admin's own (the links of its page): by level and code.
            async with self.deps.sessions() as session:
                below = await units.by_code(session, level=level, code=code)
            inside = [u for u in below if u.id != unit.id and u.path.startswith(unit.path)]
            if not granted.sees_all or not inside:
                return self._refused(request)
            unit = inside[0]
        async with self.guard.rendering() as admitted:
            if not admitted:
                return self._busy(request, BUSY_SECONDS)
            nonce = random.token_urlsafe(16)
            html = await dashboard_html(
                self.deps,
                unit=unit,
                granted=granted,
                today=self.today,
                secret=await self._secret(),
                nonce=nonce,
            )
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        _headers(response, nonce, framed=False)
        return response

    async def workbook(self, request: web.Request) -> web.StreamResponse:
        found = await self._open(request, request.match_info["token"], "workbook")
        if isinstance(found, web.Response):
            return found
        granted, unit = found
        if not granted.sees_all:
            return self._refused(request)
        quarter = quarter_of(self.today)
        async with self.guard.rendering() as admitted:
            if not admitted:
                return self._busy(request, BUSY_SECONDS)
            async with self.deps.sessions() as session:
                with i18n.use(granted.language):
                    content = await workbook(
                        session, unit=unit, period=quarter, tz=_zone(self.deps),
                        today=self.today, by="",
                    )  # fmt: skip
        name = f"tcns-{unit.code}-{quarter.key}.xlsx"
        response = web.Response(body=content, content_type=XLSX_MIME)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        _headers(response, "-", framed=False)
        return response

    async def chart(self, request: web.Request) -> web.StreamResponse:
        key = check_chart(await self._secret(), request.match_info["token"], now=self.deps.clock())
        media = None
        if key is not None:
            async with self.deps.sessions() as session:
                media = await outbox.media(session, key=key)
        if media is None or not media.mime.startswith("image/"):
            return self._refused(request)
        response = web.Response(body=media.content, content_type=media.mime)
        _headers(response, "-", framed=False)
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response

    # --- the report form (a Telegram Mini App) ---------------------------------------------

    async def form_shell(self, request: web.Request) -> web.StreamResponse:
        """The page Telegram opens. From the menu button: its script posts the initData from
        the address fragment back here, where it is checked before anything is shown. From the
        keyboard (`?k=`, a form link for the unit; Telegram gives such a Mini App no
        initData): the form itself, which sends the report back through Telegram."""
        language = _language(request.headers.get("Accept-Language"), self.deps.default_locale)
        key = request.query.get("k")
        if key is None:
            return _page("form_shell.html", language=language, framed=True)
        found = await self._open(request, key, "form", form=True)
        if isinstance(found, web.Response):
            return found
        granted, unit = found
        async with self.guard.rendering() as admitted:
            if not admitted:
                return self._busy(request, BUSY_SECONDS)
            return await self._form(granted.language, None, unit, "", keyboard=True)

    async def form_post(self, request: web.Request) -> web.Response:
        try:
            data = await request.post()
        except (ValueError, UnicodeDecodeError):
            return self._refused(request, form=True)
        init = str(data.get("init") or "")
        user = validate(init, self.bot_token, now=self.deps.clock()) if self.bot_token else None
        # Paced like a link: by the person Telegram vouches for, or with every refused one.
        wait = self.guard.admit(f"form:{user.id}" if user is not None else REFUSED)
        if wait:
            return self._busy(request, wait)
        if user is None:
            return self._refused(request, form=True)
        async with self.guard.rendering() as admitted:
            if not admitted:
                return self._busy(request, BUSY_SECONDS)
            return await self._form_post(request, data, init, user)

    async def _form_post(
        self, request: web.Request, data: Any, init: str, user: WebAppUser
    ) -> web.Response:
        chat_id = f"tg:{user.id}"
        async with self.deps.sessions() as session:
            chat = await people.get_chat(session, chat_id=chat_id)
            unit = (
                await units.get(session, unit_id=chat.unit_id)
                if chat is not None and chat.unit_id is not None
                else None
            )
        language = (chat.language if chat else None) or (
            user.language if user.language in ("vi", "en") else self.deps.default_locale
        )
        if unit is None:
            return _page("form_join.html", language=language, framed=True, user=user)
        if data.get("action") != "save":
            return await self._form(language, user, unit, init)
        return await self._save(language, user, unit, init, data)

    async def _form(
        self,
        language: str,
        user: WebAppUser | None,
        unit: Unit,
        init: str,
        *,
        error: str | None = None,
        given: dict[str, str] | None = None,
        keyboard: bool = False,
    ) -> web.Response:
        today = self.today
        first, last = report_window(today)
        async with self.deps.sessions() as session:
            with i18n.use(language):
                indicators = await config.indicators_for(session, unit=unit)
                progress = await unit_progress(
                    session, unit=unit, week=week_key(today), indicators=indicators, team=False
                )
        return _page(
            "form.html",
            language=language,
            framed=True,
            user=user,
            unit=unit,
            items=progress.items[:FORM_FIELDS],
            households=progress.households,
            init=init,
            first=first,
            last=last,
            error=error,
            given=given or {},
            note_chars=NOTE_CHARS,
            keyboard=keyboard,
        )

    async def _save(
        self, language: str, user: WebAppUser, unit: Unit, init: str, data: Any
    ) -> web.Response:
        """The form as a typed report: the same reading, checks, totals and dedupe."""
        async with self.deps.sessions() as session:
            indicators = await config.indicators_for(session, unit=unit)
        given = {k: str(v).strip() for k, v in data.items() if isinstance(v, str)}
        parts: list[str] = []
        with i18n.use(language):
            for ind in indicators[:FORM_FIELDS]:
                text = given.get(f"v_{ind.code}", "")
                if not text:
                    continue
                if not (text.isascii() and text.isdigit() and len(text) <= 9):
                    problem = i18n.gettext("Write whole numbers only, 0 or more.")
                    return await self._form(language, user, unit, init, error=problem,
                                            given=given)  # fmt: skip
                if int(text):
                    parts.append(f"{ind.code}={int(text)}")
            if not parts:
                problem = i18n.gettext("Enter at least one number above 0.")
                return await self._form(language, user, unit, init, error=problem, given=given)
        day = given.get("date", "")
        try:
            dated = date.fromisoformat(day) if day else None
        except ValueError:
            with i18n.use(language):
                problem = i18n.gettext("Choose the date of the work from the calendar.")
            return await self._form(language, user, unit, init, error=problem, given=given)
        if dated is not None:
            parts.append(f"ngay={dated:%d/%m/%Y}")
        note = " ".join(given.get("note", "").split())[:NOTE_CHARS]
        if note:
            parts.append(f"ghi_chu={note}")
        text = "/bao_cao " + " ".join(parts)
        # The same form sent twice (a double tap, a retry) is one report; a changed one, another.
        digest = hashlib.sha256(f"{init}\n{text}".encode()).hexdigest()[:24]
        chat_id = f"tg:{user.id}"
        msg = Incoming(
            platform="tg",
            chat_id=chat_id,
            chat_kind="private",
            sender_id=chat_id,
            sender_name=user.name,
            sender_username=user.username,
            text=text,
            sent_at=self.deps.clock(),
            message_key=f"{chat_id}:form:{digest}",
            update_key=f"tg:form:{digest}",
        )
        replies = await router.handle(self.deps, msg)
        async with self.deps.sessions() as session:
            stored = await reports.by_message_key(session, message_key=msg.message_key)
        recorded = stored is not None and stored.withdrawn_at is None
        answers = [r for r in replies if r.is_message and r.rich.lines]
        if not recorded and answers:
            # Refused (more households than the village has, a date out of the window): the
            # form again with the reason and what was typed; the chat is not told.
            reason = "".join(span.text for span in answers[0].rich.lines[0])
            return await self._form(language, user, unit, init, error=reason, given=given)
        kept = [dataclasses.replace(r, quote=False) for r in replies if r.is_message]
        if kept:
            # The confirmation in the chat too, from the outbox like every reply.
            await outgoing.keep_now(self.deps, msg, kept)
        return _page(
            "form_done.html",
            language=language,
            framed=True,
            answers=[_html(r.rich) for r in answers],
            recorded=recorded,
            again=not replies,  # the same form a second time: recorded the first
        )


def _html(rich: Rich) -> list[str]:
    """A reply's lines in Telegram's HTML subset: escaped text in b, i, code and a."""
    return [html_line(line) for line in rich.lines]


def _language(header: str | None, default: str) -> str:
    """The viewer's language when nothing else says it (a refused link): vi unless the browser
    prefers English."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("vi"):
            return "vi"
        if tag.startswith("en"):
            return "en"
    return default
