"""The provinces that ceased to exist on 1 July 2025, when 63 provinces became 34, and the
province each is part of now; the communes of before, by their old codes, and those of today
they became part of.

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

from storage.folding import fold, unit_key

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


@dataclass(frozen=True)
class FormerCommune:
    """A commune (xã, phường, thị trấn) as it was before 1 July 2025, by its GSO code."""

    name: str  # "Xã Bình Nguyên"
    code: str
    province_key: str  # the unit_key of the province it is in now
    now: tuple[str, ...]  # the communes of today it became part of, as `commune_key`s


def commune_key(name: str) -> str:
    """ "Xã Thăng Bình" -> "xathangbinh": how the mapping names communes (kind included)."""
    return "".join(ch for ch in fold(name) if ch.isalnum() and ch.isascii())


@functools.cache
def _former_communes() -> dict[str, FormerCommune]:
    folder = _data_dir()
    legacy = json.loads((folder / "parser_legacy.json").read_text("utf-8"))
    merged = json.loads((folder / "converter_2025.json").read_text("utf-8"))
    provinces = legacy["DICT_PROVINCE"]
    went: dict[str, dict[str, list[str]]] = {}  # new province -> old commune key -> new keys
    for new_province, communes in merged["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_key, old_keys in communes.items():
            for old_key in old_keys:
                went.setdefault(new_province, {}).setdefault(old_key, []).append(new_key)
    for new_province, divided in merged["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, parts in divided.items():
            ordered = sorted(parts, key=lambda p: not p.get("isDefaultNewWard"))
            keys = went.setdefault(new_province, {}).setdefault(old_key, [])
            keys += [p["newWardKey"] for p in ordered if p["newWardKey"] not in keys]
    found: dict[str, FormerCommune] = {}
    old = legacy["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"]
    for new_province, moves in went.items():
        now_key = unit_key(provinces[new_province]["provinceShort"])
        for old_key, new_keys in moves.items():
            province, district, ward = old_key.split("_", 2)
            entry = old.get(province, {}).get(district, {}).get(ward)
            if not entry or not str(entry.get("wardCode", "")).isdigit():
                continue
            code = str(int(entry["wardCode"]))
            found[code] = FormerCommune(entry["ward"], code, now_key, tuple(new_keys))
    return found


def former_commune(code: str) -> FormerCommune | None:
    """The commune an old GSO code named, and what it became part of. The caller looks among
    today's codes first: a commune of today kept the code of one of those it was made of."""
    text = code.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return _former_communes().get(str(int(text)))
