"""The provinces that ceased to exist on 1 July 2025, when 63 provinces became 34, and the
province each is part of now.

Spreadsheets, habits and signboards still say "Quảng Nam" or "Bình Định"; the units here are the
34 of today (vietnam-provinces). The mapping is the `vietnamadminunits` package's data (its
converter from the old divisions to the new, with the old names and GSO codes), read as JSON:
the package's own import pulls in a geocoder and shapely for address parsing we do not use.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from storage.folding import unit_key

MERGED_ON = date(2025, 7, 1)


@dataclass(frozen=True)
class FormerProvince:
    name: str  # "Tỉnh Quảng Nam"
    code: str  # its GSO code before the merger ("49")
    now_key: str  # the lookup key (unit_key) of the province it is part of: "da nang"
    now_name: str  # that province's name in the old list: "Thành phố Đà Nẵng"


def _data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def _former() -> dict[str, FormerProvince]:
    """Every former province by the keys a person may write it with (name, short name, code)."""
    folder = _data_dir()
    legacy = json.loads((folder / "parser_legacy.json").read_text("utf-8"))["DICT_PROVINCE"]
    merged = json.loads((folder / "converter_2025.json").read_text("utf-8"))["DICT_PROVINCE"]
    found: dict[str, FormerProvince] = {}
    for new_key, old_keys in merged.items():
        now = legacy[new_key]
        for old_key in old_keys:
            if old_key == new_key:
                continue  # the province that lent the merged one its name
            old = legacy[old_key]
            former = FormerProvince(
                name=old["province"],
                code=str(int(old["provinceCode"])),
                now_key=unit_key(now["provinceShort"]),
                now_name=now["province"],
            )
            for spelled in (old["province"], old["provinceShort"]):
                found[unit_key(spelled)] = former
                found[unit_key(spelled).replace(" ", "")] = former
            found[former.code] = former
    return found


def former_provinces() -> list[FormerProvince]:
    """The 29 provinces that ceased to exist, in the order of their old codes."""
    return sorted(set(_former().values()), key=lambda f: int(f.code))


def former_province(query: str) -> FormerProvince | None:
    """The province that no longer exists which `query` names (by name or old code), if any.

    The caller looks among today's provinces first: a code of today that was also a merged
    province's code is today's."""
    text = query.strip().strip("\"'")
    if text.isdigit():
        return _former().get(str(int(text)))
    k = unit_key(text)
    return _former().get(k) or _former().get(k.replace(" ", ""))
