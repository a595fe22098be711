"""What a commune's admins are told of its villages whose team has no leader: nobody gets the
leader's summary or hands out the join code there, so it is said until someone is named."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.i18n import _
from handlers.richtext import Rich, b, code, fmt
from storage.models import Unit

SHOWN = 20  # villages listed; a commune has tens


def leaderless_notice(commune: Unit, villages: Sequence[Unit]) -> Rich:
    rich = Rich().add(
        "👤 ",
        fmt(_("Villages of {commune} whose team has no leader:"), commune=b(commune.name)),
    )
    for village in list(villages)[:SHOWN]:
        if village.leader_name:
            rich.add(
                "• ",
                b(village.name),
                " — ",
                _("the workbook names {name}, who has not taken part yet").format(
                    name=village.leader_name
                ),
            )
        else:
            rich.add("• ", b(village.name))
    if len(villages) > SHOWN:
        rich.add(_("and {count} more").format(count=len(villages) - SHOWN))
    rich.add(
        fmt(
            _("Until then a village's weekly summary goes to its group. To name a leader, reply "
              "in the village's group to that person's message with {command}."),
            command=code("/to_truong"),
        )
    )  # fmt: skip
    return rich
