"""Reference data shipped with the code: OCOP groups, districts, craft villages, certifications."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from marketplace.core.vn_text import fold

DATA_DIR = Path(__file__).resolve().parent

# Decision 148/QĐ-TTg (2023): code -> (Vietnamese label, English label)
OCOP_GROUPS: dict[str, tuple[str, str]] = {
    "food": ("Thực phẩm", "Food"),
    "beverage": ("Đồ uống", "Beverages"),
    "herbal": ("Dược liệu và sản phẩm từ dược liệu", "Herbal products"),
    "handicraft": ("Thủ công mỹ nghệ", "Handicrafts"),
    "ornamental": ("Sinh vật cảnh", "Ornamental plants and animals"),
    "tourism": ("Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch", "Community and eco tourism"),
}
# Decision 1048/QĐ-TTg (2019) -> 2023 groups
OCOP_GROUPS_2019: dict[str, tuple[str, str]] = {
    "food": ("Thực phẩm", "Food"),
    "beverage": ("Đồ uống", "Beverages"),
    "herbal": ("Thảo dược", "Herbal products"),
    "textile": ("Vải và may mặc", "Textiles and garments"),
    "souvenir": ("Lưu niệm – nội thất – trang trí", "Souvenirs, furniture, decoration"),
    "tourism": ("Dịch vụ du lịch nông thôn, bán hàng", "Rural tourism and services"),
}
GROUP_2019_TO_2023 = {
    "food": "food",
    "beverage": "beverage",
    "herbal": "herbal",
    "textile": "handicraft",
    "souvenir": "handicraft",
    "tourism": "tourism",
}
PRODUCER_KINDS: dict[str, tuple[str, str]] = {
    "cooperative": ("Hợp tác xã", "Cooperative"),
    "enterprise": ("Doanh nghiệp", "Enterprise"),
    "household": ("Hộ sản xuất, kinh doanh", "Household business"),
    "group": ("Tổ hợp tác", "Cooperative group"),
}
CERTIFICATE_LEVELS: dict[str, tuple[str, str]] = {
    "district": ("Cấp huyện", "District level"),
    "province": ("Cấp thành phố", "City level"),
    "national": ("Cấp quốc gia", "National level"),
}
SALES_POINT_KINDS: dict[str, tuple[str, str]] = {
    "shop": ("Cửa hàng", "Shop"),
    "mall": ("Trung tâm thương mại", "Shopping mall"),
    "market": ("Chợ", "Market"),
    "station": ("Nhà ga, bến xe", "Station"),
    "airport": ("Sân bay", "Airport"),
    "rest_stop": ("Trạm dừng nghỉ", "Highway rest stop"),
    "hotel": ("Khách sạn", "Hotel"),
    "craft_village": ("Làng nghề", "Craft village"),
    "post_office": ("Bưu điện", "Post office"),
}
# Known certifications: code -> (label, aliases); aliases are compared folded.
CERTIFICATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vietgap": ("VietGAP", ("vietgap", "viet gap")),
    "globalgap": ("GlobalGAP", ("globalgap", "global gap")),
    "haccp": ("HACCP", ("haccp",)),
    "iso22000": ("ISO 22000", ("iso 22000", "iso22000")),
    "iso9001": ("ISO 9001", ("iso 9001", "iso9001")),
    "organic": ("Hữu cơ", ("huu co", "organic", "tcvn 11041", "usda organic", "eu organic")),
    "fssc22000": ("FSSC 22000", ("fssc 22000", "fssc22000")),
    "halal": ("Halal", ("halal",)),
    "geographical_indication": ("Chỉ dẫn địa lý", ("chi dan dia ly", "geographical indication")),
    "collective_mark": ("Nhãn hiệu tập thể", ("nhan hieu tap the", "collective mark")),
}
UNITS = (
    "kg",
    "g",
    "tấn",
    "lít",
    "ml",
    "chai",
    "hộp",
    "gói",
    "túi",
    "chiếc",
    "cái",
    "bộ",
    "đôi",
    "tấm",
    "mét",
    "cuộn",
    "bó",
    "chậu",
    "cây",
    "con",
    "quả",
    "lọ",
    "vé",
    "khách",
    "suất",
)


def group_label(code: str | None, lang: str = "vi") -> str:
    pair = OCOP_GROUPS.get(code or "")
    return (pair[0] if lang == "vi" else pair[1]) if pair else (code or "")


def canonical_certification(name: str) -> str:
    """Map a certification name to its code via aliases; unknown names stay as typed text."""
    key = fold(name)
    for code, (label, aliases) in CERTIFICATIONS.items():
        if key == fold(label) or key in aliases or key == code:
            return code
    return " ".join(name.split())


def certification_label(value: str) -> str:
    known = CERTIFICATIONS.get(value)
    return known[0] if known else value


@dataclass(frozen=True)
class District:
    name: str
    kind: str
    lat: float
    lng: float


@dataclass(frozen=True)
class CraftVillage:
    village: str
    commune: str
    district: str
    specialty: str
    specialty_en: str
    ocop_group: str
    lat: float
    lng: float


def _rows(filename: str) -> list[dict[str, str]]:
    with open(DATA_DIR / filename, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def districts() -> tuple[District, ...]:
    return tuple(
        District(r["district"], r["kind"], float(r["lat"]), float(r["lng"])) for r in _rows("hanoi_districts.csv")
    )


@cache
def district_names() -> tuple[str, ...]:
    return tuple(d.name for d in districts())


@cache
def _district_by_fold() -> dict[str, District]:
    return {fold(d.name): d for d in districts()}


def find_district(name: str | None) -> District | None:
    """'dong anh', 'ĐÔNG ANH', 'Đông Anh' -> the Đông Anh district."""
    return _district_by_fold().get(fold(name)) if name else None


@cache
def craft_villages() -> tuple[CraftVillage, ...]:
    return tuple(
        CraftVillage(
            r["village"],
            r["commune"],
            r["district"],
            r["specialty"],
            r["specialty_en"],
            r["ocop_group"],
            float(r["lat"]),
            float(r["lng"]),
        )
        for r in _rows("craft_villages.csv")
    )


SAMPLE_PRODUCTS = DATA_DIR / "sample_products.csv"
SAMPLE_SALES_POINTS = DATA_DIR / "sample_sales_points.csv"
