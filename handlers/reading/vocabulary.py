"""The words the report reader knows the meaning of, folded (no accents, lower case).

Data, not rules: filler and courtesy words that carry no figure, words that make a number
something other than a count of work done, and names of things that are not indicators. The
indicators' own names and aliases are not here: they come from the plan (`storage/plans`).
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no meaning of their own around a key ("đã hướng dẫn được 5 hộ rồi ạ"),
# including the courtesy and header words people wrap a report in.
FILLER = words(
    """
    da duoc moi them cho co mo cai dat su dung dang ky lap tao lam ho tro giup nguoi dan ba con
    gia dinh thanh cong xong roi hom nay qua trong ngay tuan tren dien thoai em anh chi a vang
    xin bao cao bc kinh gui to truong nhom ket so luong nha nhe ah oi e minh toi chung chau cua
    cac hien tai hoan thanh thi the an with installed install opened open got helped help have
    has had new more today this week report reported thon xom ap ban khu pho tdp luc vao sang
    chieu toi trua ban hang online truc tuyen dt tk accounts account their for on nop gui dc c
    nua duoc dk kich hoat
    """
)
# Words a number may carry after it ("12 hộ", "3 lượt").
UNIT_WORDS = words("ho nguoi hs lan cai don luot nha households household people person times")
UNIT_PAIRS = frozenset({"ho so", "tai khoan", "ho dan", "ho gia dinh", "gia dinh"})
# A line of these alone is courtesy or a heading: neither a figure nor a remark.
COURTESY = FILLER | words("cam on thank thanks you ak nhe chuc ca mong cong viec ket qua xin phep")
# Around a one-word answer to a guided report's question ("bỏ qua ạ", "ghi giúp em nhé"): a
# narrower set than COURTESY, which holds "qua" (yesterday) and "ho" (households).
ANSWER_COURTESY = words(
    "a da vang nhe nha nhen em anh chi co chu bac giup dum voi cam on thanks thank you please "
    "ak ah oi ban bot minh roi thoi"
)
# The word right before a number that makes it a level, an ordinal, a place or a time.
ORDINAL_WORDS = words(
    """
    muc cap level lan dot thu tuan thang nam to khu xom doi ap ban phien buoi nhom gio phong thon
    tang lop khoi version v duong pho hem ngo kiet hop lv
    """
)
# "trên 15", "khoảng 5": not an exact count.
APPROXIMATE = words("tren hon khoang gan duoi tam chung it nhat toida about over around nearly")
# After a number: an age, money, visits or accounts — not a count of households.
AGE = words("tuoi")
MONEY = words("k nghin ngan trieu ty dong vnd d")
VISITS = words("luot lan times visits tai_khoan")
# Quantities a person says without a number ("một nửa", "gấp đôi", "tất cả").
QUANTITY = words("nua doi tat het toan all half double every")
# A count of people is not a count of households.
PEOPLE = words("nguoi people person persons thanh vien nhan khau")
# Words that make the number something other than work done.
NEGATIONS = words("chua khong ko k kg kh khg hong chang not no refused refuse without didnt")
NEGATION_PAIRS = frozenset(
    {
        "tu choi",
        "did not",
        "do not",
        "khong muon",
        "khong dong",
        "di vang",
        "vang nha",
        "lam an xa",
        "di lam xa",
        "khong o nha",
        "khong co nha",
        # In progress, not done: "3 hộ đang làm chữ ký số nhưng chưa cấp xong".
        "dang lam",
        "dang cho",
        "chua xong",
    }
)
# Names of other things that share words with an alias ("tài khoản định danh" is the e-ID).
OTHER_THINGS = (
    "dinh danh",
    "can cuoc",
    "cccd",
    "cmnd",
    "bao hiem",
    "zalo",
    "facebook",
    "mat khau",
    "so dien thoai",
    "sim",
    "ngan hang",
    "dien luc",
    "evn",
    "tien dien",
    "tien nuoc",
    "vssid",
    "agribank",
    "vietcombank",
    "bidv",
    "vietinbank",
    "luy ke",
    "cong don",
    "cua tinh",
    "phan anh",
    "so suc khoe",
    "suc khoe dien tu",
    "smart city",
    "etax",
    "thue dien tu",
    "sim chinh chu",
    "chong lua dao",
)
# "số hộ", "tổng số hộ", "thôn có": the village's size, not work done.
SIZE_WORDS = words("tong so luong toan thon ca hien co la cua trong xa dan gia dinh")
SIZE_MARKERS = ("tong so", "so ho", "so luong ho", "toan thon", "ca thon", "thon co", "tong ho")

# Digits written as words ("năm hộ", "thứ sáu"), folded.
DIGIT_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5,
               "sau": 6, "bay": 7, "tam": 8, "chin": 9}  # fmt: skip
