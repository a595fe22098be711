"""The reader's rules by structure, each on messages written for it (not the corpus's): what
is stored directly, and what must be asked because a word changes what a figure means."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.grammar import Problem
from handlers.reading import ParsedReport, parse_report
from tests.test_grammar import MATCHER, TODAY  # Friday 20/11/2026

STORED: list[tuple[str, dict[str, int], date]] = [
    # A pasted chat message's time stamp dates its words of days, and is no figure.
    ("[18/11 17:45] Lan: đi 5 hộ, cài vneid 2 hộ", {"ho": 5, "app": 2}, date(2026, 11, 18)),
    ("[20/11 07:52] Lợi: hôm qua em đi 10 hộ, 7 hộ cài VNeID", {"ho": 10, "app": 7},
     date(2026, 11, 19)),
    # The south's "hum qua"; "hôm thứ tư:" before the figures.
    ("hum qua tui hướng dẫn 8 hộ, cài vneid 4 hộ", {"ho": 8, "app": 4}, date(2026, 11, 19)),
    ("bổ sung hôm thứ tư: 8 hộ, VNeID 4, MoMo 3", {"ho": 8, "app": 4, "tt": 3},
     date(2026, 11, 18)),
    # An officer's "KH" is "kích hoạt"; "ĐDĐT" is an abbreviation, not Telex.
    ("CAX BC: ngày 16/11 HD 11 hộ, KH VNeID 6 hộ, CKS 2 hộ.", {"ho": 11, "app": 6, "cks": 2},
     date(2026, 11, 16)),
    ("HD 14 hộ; kích hoạt TK ĐDĐT cho 7 hộ; tiếp nhận 3 HS DVCTT", {"ho": 14, "app": 7, "dvc": 3},
     TODAY),
    # Keycap emoji are digits.
    ("hôm nay 🔟 hộ, 5️⃣ hộ cài vneid", {"ho": 10, "app": 5}, TODAY),
    # Names are not intents: "Đinh", "xóm Đình", "gia đình"; "cán bộ" is no "căn"/"bộ".
    ("Đinh Thị Lan hôm nay hướng dẫn 10 hộ, cài VNeID 6 hộ", {"ho": 10, "app": 6}, TODAY),
    ("hôm nay đi 5 nhà ở xóm Đình, cài VNeID 5 gia đình", {"ho": 5, "app": 5}, TODAY),
    ("Cán bộ UBND xã: trong ngày hướng dẫn 20 hộ; kích hoạt VNeID 13", {"ho": 20, "app": 13},
     TODAY),
    # "mấy ổng đi biển": the men at sea, not someone else's report.
    ("bữa nay tui đi 7 nhà, mấy ổng đi biển hết, cài vneid được 4 nhà", {"ho": 7, "app": 4},
     TODAY),
    # A greeting's emoji ends its clause ("cả tổ" is then no team total).
    ("Chào cả tổ ☀️ Hôm nay em đi 6 nhà, 3 nhà cài VNeID", {"ho": 6, "app": 3}, TODAY),
    # One household filing is one filing.
    ("hôm nay đi 5 hộ, cài VNeID 3 hộ, 1 hộ nộp hồ sơ khai sinh online",
     {"ho": 5, "app": 3, "dvc": 1}, TODAY),
    # Telex with the tone key before the final consonant.
    ("hom nay ddi 10 hooj, thanh toasn 2 hooj", {"ho": 10, "tt": 2}, TODAY),
    # "mở ví": a wallet, not "vì"; "xã Vị Thủy" is a name; goods are no negation.
    ("chào cả nhà ☀️ hôm qua 6 hộ, vneid 2 hộ, mở ví 2 hộ", {"ho": 6, "app": 2, "tt": 2},
     date(2026, 11, 19)),
    ("xã Vị Thủy hôm nay tiếp nhận 12 hồ sơ dịch vụ công trực tuyến", {"dvc": 12}, TODAY),
    ("hôm nay đưa được 3 hộ bán nem chua lên Postmart, hướng dẫn 5 hộ", {"tmdt": 3, "ho": 5},
     TODAY),
    # English and brand names of a digital signature; a banking app is a payment account.
    ("update: 7 households visited, 4 VNeID, 1 e-sign", {"ho": 7, "app": 4, "cks": 1}, TODAY),
    ("nay đi 6 hộ, cài app ngân hàng 4 hộ", {"ho": 6, "tt": 4}, TODAY),
    # A date before key=value pairs is no "7 of 7".
    ("18/11 ho=7 app=3 tt=2", {"ho": 7, "app": 3, "tt": 2}, date(2026, 11, 18)),
    ("đi 7 hộ, VNeID 7/7 hộ", {"ho": 7, "app": 7}, TODAY),
    # Of two days said, the one that opens the figures.
    ("sáng nay lên làng, trời lạnh\nhôm qua em hướng dẫn 13 hộ, cài VNeID 8 hộ",
     {"ho": 13, "app": 8}, date(2026, 11, 19)),
    ("hôm nay em báo cáo hôm qua: 6 hộ, 2 hộ cài VNeID", {"ho": 6, "app": 2}, date(2026, 11, 19)),
    # Keys glued to their numbers, the households' key first; "vnid"; numbers in words.
    ("ho14 app6 tt3 dang chay xe ve xa nen go vay nha", {"ho": 14, "app": 6, "tt": 3}, TODAY),
    ("t4 di 11ho, vnid 6", {"ho": 11, "app": 6}, date(2026, 11, 18)),
    ("em báo cáo hôm nay hướng dẫn mười lăm hộ mười hộ cài vneid ba hộ có chữ ký số",
     {"ho": 15, "app": 10, "cks": 3}, TODAY),
    # "vải sấy" (lychee) is no "vài" (a few); "anh tự đi" is the sender's own work.
    ("Hôm qua em đi thôn Hạ được 10 hộ, cài VNeID 5 hộ, 1 hộ lên Voso bán vải sấy",
     {"ho": 10, "app": 5, "tmdt": 1}, date(2026, 11, 19)),
    ("anh tự đi 6 hộ, 3 vneid, 1 momo, còn tổ a tự báo", {"ho": 6, "app": 3, "tt": 1}, TODAY),
    # A bank account is an e-payment account.
    ("Hôm nay em hướng dẫn 12 hộ, mở tài khoản Agribank cho 5 hộ, 2 hộ cài VNeID.",
     {"ho": 12, "tt": 5, "app": 2}, TODAY),
    # A date in words, with or without "ngày"; "hôm kìa" is three days back, and a weekday in
    # parentheses says the day too.
    ("hôm 11 tháng 11 chị đi 6 hộ, cài VNeID 2 hộ", {"ho": 6, "app": 2}, date(2026, 11, 11)),
    ("Báo cáo bổ sung ngày 13 tháng 11 năm 2026: đi 9 hộ, chữ ký số 1 hộ", {"ho": 9, "cks": 1},
     date(2026, 11, 13)),
    ("hôm kìa đi 8 nhà, cài vneid 5 nhà", {"ho": 8, "app": 5}, date(2026, 11, 17)),
    ("bữa kia (thứ 4) tui đi 6 nhà, cài vneid 2 nhà", {"ho": 6, "app": 2}, date(2026, 11, 18)),
    # "hôm 17": the 17th; "mừng lắm" (so glad) is no "mùng lăm" (the 5th).
    ("hôm 17 chị đi 4 nhà, cài vneid 1 nhà", {"ho": 4, "app": 1}, date(2026, 11, 17)),
    ("sáng nay đi 6 hộ, cài VNeID 4 hộ, bà con mừng lắm", {"ho": 6, "app": 4}, TODAY),
    # A place's name is no word of the report: "ở Hòa Vang nha" is not "vắng nhà" (not home).
    ("nay đi 9 hộ ở Hòa Vang nha, cài vneid 5 hộ", {"ho": 9, "app": 5}, TODAY),
    # A date with dots or a dash; a range of households is no date.
    ("17.11 đi 5 hộ, cài vneid 3 hộ", {"ho": 5, "app": 3}, date(2026, 11, 17)),
    ("Báo cáo 18-11-2026: HD 6 hộ, VNeID 2", {"ho": 6, "app": 2}, date(2026, 11, 18)),
    # "tuần r" is last week; "tranh thủ tự đi" is no "thứ tư".
    ("t3 tuần r e đi 5 hộ, cài vneid 2 hộ", {"ho": 5, "app": 2}, date(2026, 11, 10)),
    ("chiều nay tranh thủ tự đi được 4 hộ, cài vneid 2 hộ", {"ho": 4, "app": 2}, TODAY),
    # In progress is not done: the signatures not yet issued are not counted.
    ("đi 7 hộ, cài vneid 4 hộ, 2 hộ đang làm chữ ký số nhưng chưa cấp xong",
     {"ho": 7, "app": 4}, TODAY),
    # VNeID as voice typing spells it.
    ("hôm nay hướng dẫn mười hộ cài vi en ây được sáu hộ", {"ho": 10, "app": 6}, TODAY),
]  # fmt: skip


@pytest.mark.parametrize(("text", "values", "day"), STORED)
def test_stored(text: str, values: dict[str, int], day: date) -> None:
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, ParsedReport), got
    assert {k: v for k, v in got.values.items() if v} == values
    assert (got.day or TODAY) == day


ASKED: list[str] = [
    # More installs than households guided: people, or other days' households?
    "hôm nay đi 4 hộ mà cài VNeID được 9",
    # Someone else's work, and several members' work summed.
    "chồng em là tổ trưởng, ổng nhờ em báo dùm: ổng đi 10 hộ, 6 hộ cài vneid",
    "CAX tổng hợp ngày 19/11 (03 đ/c): HD 27 hộ, KH VNeID 15",
    # An approximate count let fall would be a figure dropped without a word.
    "thứ 2 đi hơn chục hộ, cài được vneid 6 hộ",
    # Accounts, not households; people, not households.
    "đi 6 hộ, mở được 4 tài khoản ngân hàng",
    "bữa nay em chỉ cho 17 người trong xóm cài vneid",
    # Something opened that the plan does not name.
    "hôm qua tôi giúp hai nhà mở da lô pây",
    # Already had it, or opened it now?
    "bữa nay đi 11 hộ, 7 hộ cài VNeID, 3 hộ có tài khoản ngân hàng rồi",
    # An intent, not work done.
    "hôm nay định cài VNeID cho 3 hộ mà mạng yếu quá",
    # Derived: 9 doors, 2 away, "the rest" guided.
    "hôm nay em gõ cửa 9 nhà, 2 nhà đi vắng, còn lại hướng dẫn hết, cài VNeID 3 nhà",
    # Things, not households; a husband's work; "ck" alone (a transfer? a husband?).
    "hôm nay em hướng dẫn 7 hộ, cài được 4 cái",
    "ck e di 6 ho giup e nha",
    "hnay dc 2 dvc, 1 ck",
    # The team's work, and a week's total.
    "hôm nay tổ tôi đi 15 hộ",
    "tuần này em đi được 30 hộ, cài app 12 hộ",
    # A bare account figure with no household said.
    "tài khoản ngân hàng 3",
    # Today's weekday alone (on a Friday): today, or last Friday?
    "thứ sáu em đi 9 hộ, cài vneid 4",
    # "mong" (hoping) before a count is no "mồng" (a day).
    "mong 6 hộ nữa cho đủ chỉ tiêu, nay đi 3 hộ",
    # "bữa hổm": some day back; the team's work in the young's words.
    "hổm rày bận quá, bữa hổm đi 5 nhà cài vneid 3 nhà",
    "nay tụi em ghé 14 hộ, cài vneid 9 hộ",
    "team mình hnay support 11 hộ nha",
    # "ở xa vắng nhà" (far, not home) is no place name: the households not at home are asked.
    "đi 6 hộ, 2 hộ ở xa vắng nhà, cài vneid 4 hộ",
    # Two days that disagree; part of a week; a count given as "about".
    "hôm qua thứ 3 tui đi 5 nhà, cài vneid 2 nhà",
    "giữa tuần em đi được 6 hộ, cài VNeID 4 hộ",
    "nay đi khoảng 10 hộ, cài vneid 5 hộ",
    # Households away, said in a remark: of the 8 visited, were 6 guided?
    "đi 8 hộ (2 hộ vắng nhà đi làm), cài vneid 4 hộ",
    # A household named with work done for it, left in words: its figure is asked for.
    "nay đi nhà chú Năm với nhà cô Sáu, cả 2 nhà cài vneid, nhà cô Sáu mở thêm ví MoMo",
    # A range of households: how many?
    "nay đi 10-11 hộ, cài vneid 4 hộ",
    # A day named by what happened on it: which date was that?
    "bữa đám giỗ ông nội tui đi 6 nhà, cài vneid 3 nhà",
    # A figure below zero, typed in a story.
    "nay đi 5 hộ, cài vneid -1 hộ do nhập nhầm hôm qua",
]


def test_two_figures_joined_by_voi_are_both_offered() -> None:
    # "với" before a number joins two figures: both offered (summed) for one tap, never one
    # of them stored.
    text = "hôm nay giúp 3 hộ lên Postmart với 1 hộ lên TikTok Shop, hướng dẫn tổng 6 hộ"
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, Problem)
    assert got.suggestion is not None
    assert sorted(got.suggestion.split()) == ["ho=6", "tmdt=4"]


@pytest.mark.parametrize("text", ASKED)
def test_asked(text: str) -> None:
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, Problem), got


def test_keys_typed_as_keys_are_never_asked_for_exceeding() -> None:
    # "ho 2 app 5": app may count households guided on other days; it says what it means.
    for text in ("ho=2 app=5", "ho 2 app 5", "ho: 2, app: 5"):
        got = parse_report(text, MATCHER, today=TODAY)
        assert isinstance(got, ParsedReport), (text, got)
        assert got.values == {"ho": 2, "app": 5}, text


CORRECTED: list[tuple[str, dict[str, int]]] = [
    # The figure named after "nhầm" / "à không" replaces that indicator's, not the nearest.
    ("hôm nay 11 hộ, vneid 6, momo 3. Ơ nhầm, vneid 5", {"ho": 11, "app": 5, "tt": 3}),
    ("nay đi 7 nhà, 2 tt... à không 3 tt, 4 vneid", {"ho": 7, "tt": 3, "app": 4}),
    ("đi 10 hộ à nhầm 12 hộ, cài vneid 7 hộ", {"ho": 12, "app": 7}),
    # "chứ không phải N": the figure denied; "không phải N mà là M": M in its place.
    ("mở ví cho 4 hộ chứ không phải 2, hướng dẫn 9 hộ", {"tt": 4, "ho": 9}),
    ("hôm nay không phải 6 hộ cài vneid mà là 4 hộ, hướng dẫn 10 hộ", {"app": 4, "ho": 10}),
]


@pytest.mark.parametrize(("text", "values"), CORRECTED)
def test_a_correction_in_the_message_is_offered_as_corrected(
    text: str, values: dict[str, int]
) -> None:
    # Never stored without a tap: the member confirms the figures the correction leaves.
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, Problem), got
    assert got.suggestion is not None
    offered = dict(pair.split("=") for pair in got.suggestion.split() if "=" in pair)
    assert {k: int(v) for k, v in offered.items() if k != "ngay"} == values


def test_a_typo_remark_is_no_correction_of_the_next_sentence() -> None:
    text = "cài VNeID là 3 hộ chứ không phải 5, em gõ nhầm. Hướng dẫn vẫn 8 hộ"
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, Problem), got
    assert got.suggestion is not None
    assert sorted(got.suggestion.split()) == ["app=3", "ho=8"]


def test_a_figure_said_twice_is_offered_each_way_it_can_be_read() -> None:
    # Summed (morning and afternoon), corrected (the later one), or the first alone: the member
    # taps the one meant; nothing is stored without a tap.
    for text, meant in (
        ("sáng nay 5 hộ, chiều thêm 3 hộ nữa", "ho=8"),
        ("đi 9 hộ, vneid 6 hộ\nsửa lại: vneid 4 hộ thôi, mấy hộ kia chưa có CCCD", "ho=9 app=4"),
    ):
        got = parse_report(text, MATCHER, today=TODAY)
        assert isinstance(got, Problem), got
        readings = [sorted(r.split()) for r in got.args["readings"].split("|")]
        assert sorted(meant.split()) in readings, (text, readings)


def test_an_indicator_named_without_a_figure_is_offered_as_one_household_or_all() -> None:
    for text, meant in (
        ("hôm nay đi 5 hộ, cài VNeID 3 hộ, nhà bà Tư thì mở tài khoản Agribank",
         "ho=5 app=3 tt=1"),
        ("hôm nay đi 4 hộ, 2 hộ mở ví MoMo, cả mấy hộ đều cài VNeID luôn", "ho=4 tt=2 app=4"),
    ):  # fmt: skip
        got = parse_report(text, MATCHER, today=TODAY)
        assert isinstance(got, Problem), got
        offered = [*got.args.get("readings", "").split("|"), got.suggestion or ""]
        assert sorted(meant.split()) in [sorted(r.split()) for r in offered], (text, got)


def test_a_question_after_the_figures_leaves_them_offered_for_one_tap() -> None:
    # The question's own words ("không", "chưa") are no part of the report; nothing is stored
    # before the member taps, since the question may be about whether the figures count.
    text = "Bữa ni tui đi 5 nhà ở xóm Đông, cài VNeID cho 4 nhà. Rứa có được tính không hè?"
    got = parse_report(text, MATCHER, today=TODAY)
    assert isinstance(got, Problem), got
    assert got.code == "ask_question"
    assert sorted((got.suggestion or "").split()) == ["app=4", "ho=5"]
