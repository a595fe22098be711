"""Fan-out: one leaderboard round (`tcns jobs run leaderboards`, as an operator or the scheduler
runs it) to thousands of village groups, against the sandbox Bot API enforcing Telegram's limits
scaled by a factor, with tcns told the same limits. The figure is the achieved posting rate over
the ceiling the limits allow, taken from the times the server accepted the posts, and how many
sends the server refused with 429."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.groups import fresh_database, link_groups
from bench.process import spawn
from sandbox.telegram import FakeTelegram

ROUND = "2026-11-23T08:00+07:00"  # Monday 08:00: the default leaderboard time


@dataclass(frozen=True)
class Round:
    communes: int
    per: int  # villages (groups) per commune
    scale: int  # Telegram's limits times this


async def measure(round_: Round, workdir: Path) -> dict[str, float]:
    url = await fresh_database(workdir / "fanout.db")
    per_second, per_group = 30 * round_.scale, 20 * round_.scale
    fake = await FakeTelegram(global_per_second=per_second, group_per_minute=per_group).start()
    try:
        groups = await link_groups(url, fake, communes=round_.communes, per=round_.per,
                                   province=None)  # fmt: skip
        env = {
            "TCNS_TELEGRAM_TOKEN": fake.token,
            "TCNS_TELEGRAM_API_URL": fake.url,
            "TCNS_DATABASE_URL": url,
            "TCNS_SEND_PER_SECOND": str(per_second),
            "TCNS_SEND_PER_GROUP_MINUTE": str(per_group),
        }
        proc = await spawn(["-m", "bot", "jobs", "run", "leaderboards", "--at", ROUND],
                           env=env, log=workdir / "fanout.log")  # fmt: skip
        code = await asyncio.wait_for(proc.wait(), 1800)
        if code != 0:
            raise RuntimeError(f"jobs run ended with {code}; see {workdir / 'fanout.log'}")
        posts = [s for s in fake.sent if s.method == "sendphoto"]
        counts = Counter(s.chat_id for s in posts)
        missing = [g for g in groups if counts[g] == 0]
        if missing:
            raise RuntimeError(f"{len(missing)} groups got no board")
        seconds = posts[-1].at - posts[0].at
        rate = (len(posts) - 1) / seconds
        too_many = sum(1 for e in fake.errors if e[1] == 429)
    finally:
        await fake.stop()
    return {
        "groups": float(len(groups)),
        "posts": float(len(posts)),
        "seconds": seconds,
        "posts/s": rate,
        "ceiling (posts/s)": float(per_second),
        "achieved ÷ ceiling": rate / per_second,
        "answers of 429": float(too_many),
        "other refusals": float(len(fake.errors) - too_many),
    }
