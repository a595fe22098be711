"""The `tcns` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot import app, logs
from bot.settings import Settings
from bot.transport import Transport
from handlers import export, i18n, importing, periods, plans, sheets
from handlers.incoming import Messenger
from handlers.views import merged_line
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage import config, db, units
from storage.models import Unit

log = logging.getLogger("tcns")


async def _run(settings: Settings) -> None:
    running = await app.start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("tcns: stopping")
    await running.stop()


async def _plan_apply(settings: Settings, ref: str, unit_ref: str) -> int:
    label, text, plan = plans.load_plan(ref)
    engine, sessions = await app.prepare_database(settings)
    try:
        async with db.transaction(sessions) as session:
            unit = await plans.resolve_unit(session, unit_ref)
            done = await plans.apply_plan(
                session, plan=plan, label=label, text=text, unit=unit, actor="operator"
            )
            where = await plans.unit_label(session, unit)
    finally:
        await engine.dispose()
    print(f"tcns: applied {plan.name!r} ({label}) to {where}")  # noqa: T201 (CLI output)
    for line in done:
        print(f"  - {line}")  # noqa: T201 (CLI output)
    return 0


def _moment(text: str | None, settings: Settings) -> datetime:
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


class SkipCount:
    """The observer of a one-off `tcns jobs run`: how many parts of a round were left out."""

    def __init__(self) -> None:
        self.left_out = 0

    def count(self, event: str, label: str = "") -> None:
        if event == "skipped":
            self.left_out += 1


async def _jobs_run(settings: Settings, job: str, at: str | None) -> int:
    """One job as if at `at`: queue what it owes, then send it (with a token) and wait."""
    moment = _moment(at, settings)
    engine, sessions = await app.prepare_database(settings)
    deps = app.make_deps(settings, sessions, clock=lambda: moment)  # "now" is `at` throughout
    skipped = SkipCount()
    deps = dataclasses.replace(deps, observer=skipped)
    telegram, zalo = app.transports(settings, deps)
    opened: list[Transport] = []
    try:
        queued = await jobs.run(deps, job, moment)
        left_out = f"; {skipped.left_out} left out, see the log" if skipped.left_out else ""
        print(f"tcns: {job}: {queued} new posts queued{left_out}")  # noqa: T201 (CLI output)
        if telegram is None and zalo is None:
            print("tcns: no platform token: they go out with `tcns run`")  # noqa: T201
            return 0
        messengers: list[Messenger] = []
        for transport in (telegram, zalo):
            if transport is not None:
                await transport.open()
                opened.append(transport)
                messengers.append(transport)
        stats = await OutboxSender(deps, messengers).drain(job=job, wait_retries=True)
        print(  # noqa: T201 (CLI output)
            f"tcns: {job}: {stats.sent} sent, {stats.retried} retried, "
            f"{stats.gone} gone, {stats.migrated} migrated, {stats.failed} failed"
        )
    finally:
        for transport in opened:
            await transport.stop()
        await engine.dispose()
    return 0


async def _export(settings: Settings, unit_ref: str, period: str | None, out: str | None) -> int:
    engine, sessions = await app.prepare_database(settings)
    try:
        async with sessions() as session:
            unit = await plans.resolve_unit(session, unit_ref)
            today = datetime.now(settings.tz).date()
            chosen = periods.parse_period(period, today)
            content = await export.workbook(
                session, unit=unit, period=chosen, tz=settings.tz, today=today
            )
    finally:
        await engine.dispose()
    path = Path(out or f"tcns-{unit.code}-{chosen.key}.xlsx")
    await asyncio.to_thread(path.write_bytes, content)
    first, last = chosen.first, chosen.last
    print(f"tcns: wrote {path} ({unit.name}, {first:%d/%m/%Y}–{last:%d/%m/%Y})")  # noqa: T201
    return 0


async def _import(settings: Settings, file: str, *, dry_run: bool) -> int:
    """`tcns import`: every row's outcome, then the summary; 1 when anything was wrong (and
    then nothing was changed)."""
    size = (await asyncio.to_thread(Path(file).stat)).st_size
    with i18n.use(settings.locale):
        if size > sheets.MAX_BYTES:  # not even read into memory
            refused = importing.unreadable(
                sheets.Unreadable("too_big", {"mb": sheets.MAX_BYTES // (1024 * 1024)})
            )
            print(f"tcns: {file}: {refused}", file=sys.stderr)  # noqa: T201 (CLI output)
            return 1
    content = await asyncio.to_thread(Path(file).read_bytes)
    engine, sessions = await app.prepare_database(settings)
    try:
        with i18n.use(settings.locale):
            async with sessions() as session:
                indicators = await config.all_indicators(session)
                try:
                    read = await importing.read(file, content, indicators)
                except importing.ImportError_ as exc:
                    print(f"tcns: {file}: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
                    return 1
                result = await importing.run(
                    session, read.rows, actor_id="tcns import", scope=None,
                    indicators=indicators, members=read.members,
                )  # fmt: skip
                result.ignored = read.ignored
                result.skipped = read.skipped
                apply = result.ok and not dry_run
                for outcome in result.outcomes:
                    print(outcome.shown(applied=apply))  # noqa: T201 (CLI output)
                for line in result.summary(applied=apply):
                    print(line)  # noqa: T201 (CLI output)
                if apply:
                    await session.commit()
                else:
                    await session.rollback()
    finally:
        await engine.dispose()
    return 0 if result.ok else 1


async def _import_template(settings: Settings, out: str, province_code: str | None) -> int:
    engine, sessions = await app.prepare_database(settings)
    try:
        async with sessions() as session:
            province = None
            communes: list[Unit] = []
            if province_code:
                found, former = await units.find_province(session, query=province_code)
                if not found:
                    raise LookupError(f"no province has the code or name {province_code!r}")
                province = found[0]
                if former is not None:
                    sys.stderr.write(merged_line(former, province) + "\n")
                assert province.id is not None  # noqa: S101 (stored)
                communes = [
                    c for c in await units.children(session, unit_id=province.id)
                    if c.level == "commune"
                ]  # fmt: skip
                communes.sort(key=lambda c: int(c.code) if c.code.isdigit() else 0)
    finally:
        await engine.dispose()
    await asyncio.to_thread(Path(out).write_bytes, importing.template(communes, province))
    where = f", with the {len(communes)} communes of {province.name}" if province else ""
    print(f"tcns: wrote {out}{where}")  # noqa: T201 (CLI output)
    return 0


async def _upgrade(settings: Settings) -> None:
    engine, _sessions = await app.prepare_database(settings)
    await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcns", description="Bot for community digital teams")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling, or webhooks with a base URL)")
    demo_p = sub.add_parser("demo", help="six weeks of a commune in a minute, offline")
    demo_p.add_argument("--out", default="demo-output", help="folder for the chart, workbook, "
                        "transcript (default: demo-output)")  # fmt: skip
    chat_p = sub.add_parser("chat", help="talk to the bot in a console, as someone, somewhere")
    chat_p.add_argument("--as", dest="person", default="1", help="who you are (a user id)")
    chat_p.add_argument("--name", default="Quản trị", help="your display name")
    chat_p.add_argument("--chat", default="private",
                        help="'private' (default), or a group's id such as -1001")  # fmt: skip
    chat_p.add_argument("--title", default="Tổ CNS", help="the group's title")
    dbp = sub.add_parser("db", help="database maintenance")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations and load reference data")
    planp = sub.add_parser("plan", help="province plans: targets, grades, team sizes, schedule")
    plansub = planp.add_subparsers(dest="plan_command", required=True)
    apply_p = plansub.add_parser("apply", help="apply a plan file to a unit and everything below")
    apply_p.add_argument("file", help="a TOML file, or the name of a shipped plan")
    apply_p.add_argument("--unit", required=True, help="tinh:48, xa:20791, or a village code")
    check_p = plansub.add_parser("check", help="validate a plan file without applying it")
    check_p.add_argument("file")
    plansub.add_parser("list", help="the plans shipped with tcns")
    jobsp = sub.add_parser("jobs", help="scheduled jobs")
    jobsub = jobsp.add_subparsers(dest="jobs_command", required=True)
    run_p = jobsub.add_parser("run", help="run one job once as if at a time (idempotent)")
    run_p.add_argument("job", choices=jobs.JOBS)
    run_p.add_argument("--at", help="ISO-8601, e.g. 2026-11-27T16:00+07:00 (default: now)")
    exp = sub.add_parser("export", help="the Excel workbook of a unit")
    exp.add_argument("--unit", required=True, help="tinh:48, xa:20791, or a village code")
    exp.add_argument("--period", help=f"{periods.PERIOD_FORMS} (default: this quarter)")
    exp.add_argument("--out", help="file to write (default: tcns-CODE-PERIOD.xlsx)")
    imp = sub.add_parser("import", help="villages, households, targets from a workbook")
    imp.add_argument("file", nargs="?", help="an .xlsx or .csv file, one row per village")
    imp.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    imp.add_argument("--template", metavar="FILE", help="write a template workbook to FILE")
    imp.add_argument("--province", help="with --template: the communes of this province (48)")
    args = parser.parse_args(argv)
    if args.command == "import" and not (args.file or args.template):
        parser.error("import needs a FILE, or --template FILE")

    if args.command == "plan" and args.plan_command in ("check", "list"):
        return _plan_offline(args)
    if args.command == "demo":
        from bot.demo import prepare_output, run_demo  # the sandbox only loads for the demo

        logging.basicConfig(level=logging.ERROR)
        prepare_output(Path(args.out))
        return asyncio.run(run_demo(Path(args.out)))

    try:
        settings = Settings()
    except ValidationError as exc:
        for line in _setting_errors(exc):
            print(f"tcns: {line}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    # A one-off command says what it did on stdout; the migrations' lines would come before
    # a console's prompt or an import's summary. The service and `tcns db` log them.
    logs.configure(
        settings, level=logging.INFO if args.command in ("run", "db") else logging.WARNING
    )
    try:
        if args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "chat":
            from bot.console import run_console

            return asyncio.run(run_console(settings, args))
        elif args.command == "jobs":
            return asyncio.run(_jobs_run(settings, args.job, args.at))
        elif args.command == "import" and args.template:
            return asyncio.run(_import_template(settings, args.template, args.province))
        elif args.command == "import":
            return asyncio.run(_import(settings, args.file, dry_run=args.dry_run))
        elif args.command == "export":
            return asyncio.run(_export(settings, args.unit, args.period, args.out))
        elif args.command == "plan":
            return asyncio.run(_plan_apply(settings, args.file, args.unit))
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
            print(f"tcns: database at {db.redacted_url(settings.database_url)} is up to date")  # noqa: T201
    except (app.ConfigurationError, plans.PlanError, LookupError, ValueError) as exc:
        print(f"tcns: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    except app.StartupError as exc:
        print(f"tcns: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 1
    return 0


def _setting_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting, named as the operator sets it: "TCNS_SUPERADMINS: …"."""
    lines = []
    for error in exc.errors(include_url=False):
        name = "TCNS_" + "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return lines


def _plan_offline(args: argparse.Namespace) -> int:
    if args.plan_command == "list":
        for name in plans.shipped_plans():
            _label, _text, plan = plans.load_plan(name)
            print(f"{name}: {plan.name}")  # noqa: T201 (CLI output)
        return 0
    try:
        label, _text, plan = plans.load_plan(args.file)
    except plans.PlanError as exc:
        print(f"tcns: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    print(f"tcns: {label} is a valid plan: {plan.name}")  # noqa: T201 (CLI output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
