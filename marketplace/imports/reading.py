"""Reading and validating product and sales point CSV files (CONTRACT.md, "CSV: products" and "CSV: sales points").

``validate_products(path)`` / ``validate_sales_points(path)`` read the whole file and turn every
row into a typed row object (``rows.py``), collecting each problem as ``line N, column C: message``
(N is the file line, the header being line 1). Nothing touches the database except the look-up of
the product refs a sales point carries. The valid rows then go to ``services.import_products`` /
``services.import_sales_points``.

Decisions the contract leaves open:
- Required header columns: products ``ref``, ``producer_name``, ``district``, ``product_name`` and
  one of ``ocop_group`` / ``ocop_group_2019``; sales points ``ref``, ``name``, ``kind``,
  ``district``. Other columns are optional (what an absent column means for the import: see
  ``services.py``).
- ``ocop_stars`` empty means 0 (not rated). Stars > 0 need ``certified_on`` (not in the future).
- Numbers are plain digits; Vietnamese thousands groups ("1.250.000") are accepted, words are not.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import gettext as _

from marketplace.catalog.models import PRODUCT_STATUSES
from marketplace.core.dates import today
from marketplace.core.vn_text import clean_line, fold, nfc, strip_controls
from marketplace.data import (
    GROUP_2019_TO_2023,
    OCOP_GROUPS,
    OCOP_GROUPS_2019,
    PRODUCER_KINDS,
    SALES_POINT_KINDS,
    canonical_certification,
    find_district,
)
from marketplace.imports.rows import (
    PRODUCT_REQUIRED,
    SALES_POINT_REQUIRED,
    Problem,
    ProductRow,
    SalesPointRow,
)
from marketplace.imports.services import existing_product_refs
from marketplace.sales_points.models import SALES_POINT_STATUSES

MAX_MONEY = 10**15
MAX_QUANTITY = 10**12
_REF_FORBIDDEN = re.compile(r"[\s/?#%\\]")
_DIGITS = re.compile(r"\d+")
_GROUPED = re.compile(r"\d{1,3}(?:([.,\u00a0 ])\d{3})(?:\1\d{3})*")
_MONEY_SUFFIX = re.compile(r"\s*(₫|đ|vnđ|vnd|đồng)$", re.IGNORECASE)
_DECIMAL = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- reading the file


@dataclass
class _Table:
    header: list[str] = field(default_factory=list)
    records: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _read_table(path: str | Path, required: Sequence[str]) -> _Table:
    """Decode UTF-8 (BOM accepted), parse CSV, NFC-normalise and strip every cell."""
    table = _Table()
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        table.problems.append(Problem(1, None, _("không đọc được tệp: %(error)s", error=str(error)), fatal=True))
        return table
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        table.problems.append(Problem(line, None, _("tệp không phải UTF-8; hãy lưu lại với mã hóa UTF-8"), fatal=True))
        return table
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not table.header:
                if not any(c.strip() for c in cells):
                    table.problems.append(Problem(start, None, _("dòng tiêu đề (tên cột) bị thiếu"), fatal=True))
                    return table
                table.header = [nfc(c).lower() for c in cells]
                _check_header(table, required)
                if table.problems:
                    return table
                continue
            values = [nfc(c) for c in cells]
            if not any(values):
                continue  # blank line
            if len(values) > len(table.header) and any(values[len(table.header) :]):
                extra = len(table.header) + 1
                table.problems.append(Problem(start, f"#{extra}", _("dòng có nhiều giá trị hơn số cột của tiêu đề")))
                continue
            record = {name: value for name, value in zip(table.header, values, strict=False) if name}
            table.records.append((start, record))
    except csv.Error as error:
        table.problems.append(
            Problem(reader.line_num or 1, None, _("lỗi định dạng CSV: %(error)s", error=str(error)), fatal=True)
        )
    if not table.header and not table.problems:
        table.problems.append(Problem(1, None, _("tệp trống"), fatal=True))
    return table


def _check_header(table: _Table, required: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in table.header:
        if name and name in seen:
            table.problems.append(Problem(1, name, _("cột bị lặp lại trong dòng tiêu đề"), fatal=True))
        seen.add(name)
    for name in required:
        if name not in seen:
            table.problems.append(Problem(1, name, _("thiếu cột bắt buộc"), fatal=True))


# --------------------------------------------------------------------------- typed cells


def _aliases(table: dict[str, tuple[str, str]], extra: dict[str, str] | None = None) -> dict[str, str]:
    """Folded code, Vietnamese and English labels -> code."""
    result: dict[str, str] = {}
    for code, (vi, en) in table.items():
        for name in (code, vi, en):
            result[fold(name)] = code
    result.update({fold(k): v for k, v in (extra or {}).items()})
    return result


_GROUP_ALIASES = _aliases(OCOP_GROUPS, {"duoc lieu": "herbal", "thu cong": "handicraft", "du lich": "tourism"})
_GROUP_2019_ALIASES = _aliases(OCOP_GROUPS_2019)
_KIND_ALIASES = _aliases(
    PRODUCER_KINDS,
    {
        "htx": "cooperative",
        "doanh nghiep": "enterprise",
        "cong ty": "enterprise",
        "ho kinh doanh": "household",
        "ho san xuat": "household",
        "to hop tac": "group",
        "tht": "group",
    },
)
_SALES_POINT_KIND_ALIASES = _aliases(SALES_POINT_KINDS)
_PRODUCT_STATUS_ALIASES = {s: s for s in PRODUCT_STATUSES}
_SALES_POINT_STATUS_ALIASES = {s: s for s in SALES_POINT_STATUSES}


class _Cells:
    """The cells of one record, parsed one column at a time; problems are collected, not raised."""

    def __init__(self, line: int, record: dict[str, str], problems: list[Problem]):
        self.line = line
        self.record = record
        self.problems = problems
        self.failed = False

    def error(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.line, column, message))
        self.failed = True

    def raw(self, column: str) -> str:
        return strip_controls(self.record.get(column) or "")

    def text(self, column: str, max_length: int, required: bool = False, one_line: bool = True) -> str:
        value = clean_line(self.raw(column)) if one_line else nfc(self.raw(column))
        if required and not value:
            self.error(column, _("không được để trống"))
        elif len(value) > max_length:
            self.error(column, _("dài quá %(n)d ký tự", n=max_length))
        return value

    def choice(self, column: str, aliases: dict[str, str], allowed: Iterable[str]) -> str | None:
        value = self.raw(column)
        if not value:
            return None
        code = aliases.get(fold(value))
        if code is None:
            self.error(
                column,
                _(
                    'giá trị "%(value)s" không hợp lệ; dùng một trong: %(allowed)s',
                    value=value,
                    allowed=", ".join(allowed),
                ),
            )
        return code

    def integer(self, column: str, maximum: int, money: bool = False) -> int | None:
        value = self.raw(column)
        if money:
            value = _MONEY_SUFFIX.sub("", value)
        if not value:
            return None
        if _DIGITS.fullmatch(value):
            number = int(value)
        elif _GROUPED.fullmatch(value):
            number = int(re.sub(r"\D", "", value))
        else:
            self.error(column, _('"%(value)s" không phải số nguyên không âm (chỉ dùng chữ số)', value=value))
            return None
        if number > maximum:
            self.error(column, _("số quá lớn"))
            return None
        return number

    def stars(self, column: str) -> int:
        value = self.raw(column)
        if not value:
            return 0
        if not _DIGITS.fullmatch(value) or int(value) > 5:
            self.error(column, _('số sao phải là số nguyên từ 0 đến 5 (nhận được "%(value)s")', value=value))
            return 0
        return int(value)

    def coordinate(self, column: str, limit: float) -> float | None:
        value = self.raw(column)
        if not value:
            return None
        if _DECIMAL.fullmatch(value):
            number = float(value.replace(",", "."))
            if math.isfinite(number) and -limit <= number <= limit:
                return number
        self.error(column, _('"%(value)s" không phải tọa độ từ -%(limit)d đến %(limit)d', value=value, limit=limit))
        return None

    def day(self, column: str, latest: date) -> date | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            if not _ISO_DAY.fullmatch(value):
                raise ValueError(value)
            result = date.fromisoformat(value)
        except ValueError:
            self.error(column, _('"%(value)s" không phải ngày dạng YYYY-MM-DD', value=value))
            return None
        if result > latest:
            self.error(column, _("ngày %(value)s ở tương lai", value=value))
            return None
        return result

    def ref(self, column: str, seen: dict[str, int]) -> str:
        value = self.text(column, 60, required=True)
        if not value:
            return value
        if _REF_FORBIDDEN.search(value):
            self.error(column, _("mã không được chứa khoảng trắng hay các ký tự / ? # % \\"))
        elif value in seen:
            self.error(column, _('mã "%(ref)s" đã có ở dòng %(line)d', ref=value, line=seen[value]))
        else:
            seen[value] = self.line
        return value

    def district(self, column: str) -> str:
        value = self.text(column, 80, required=True)
        if not value:
            return value
        found = find_district(value)
        if found is None:
            self.error(column, _('"%(value)s" không phải quận, huyện, thị xã của Hà Nội', value=value))
            return value
        return found.name

    def lat_lng(self) -> tuple[float | None, float | None]:
        lat = self.coordinate("lat", 90)
        lng = self.coordinate("lng", 180)
        if (self.raw("lat") == "") != (self.raw("lng") == ""):
            missing = "lng" if self.raw("lat") else "lat"
            self.error(missing, _("cần có cả vĩ độ (lat) và kinh độ (lng), hoặc để trống cả hai"))
        return lat, lng


def _split_list(value: str) -> list[str]:
    """'a; b;;a' -> ['a', 'b'] (order kept, duplicates and blanks dropped)."""
    items: list[str] = []
    for part in value.split(";"):
        part = clean_line(part)
        if part and part not in items:
            items.append(part)
    return items


# --------------------------------------------------------------------------- validation


def validate_products(path: str | Path) -> tuple[list[ProductRow], list[Problem]]:
    """Read and check a products file; return the valid rows and every problem found."""
    table = _read_table(path, PRODUCT_REQUIRED)
    if table.header and not table.problems and not {"ocop_group", "ocop_group_2019"} & set(table.header):
        table.problems.append(
            Problem(1, "ocop_group", _("thiếu cột bắt buộc (ocop_group hoặc ocop_group_2019)"), fatal=True)
        )
    if any(p.fatal for p in table.problems):
        return [], table.problems
    return _product_rows(table.records, frozenset(table.header), table.problems), table.problems


def _product_rows(
    records: Iterable[tuple[int, dict[str, str]]], columns: frozenset[str], problems: list[Problem]
) -> list[ProductRow]:
    latest = today()
    seen: dict[str, int] = {}
    rows: list[ProductRow] = []
    for line, record in records:
        cells = _Cells(line, record, problems)
        row = _product_row(cells, columns, seen, latest)
        if not cells.failed:
            rows.append(row)
    problems.sort(key=lambda p: p.line)
    return rows


def _product_row(cells: _Cells, columns: frozenset[str], seen: dict[str, int], latest: date) -> ProductRow:
    ref = cells.ref("ref", seen)
    group_2019 = cells.choice("ocop_group_2019", _GROUP_2019_ALIASES, OCOP_GROUPS_2019)
    group = cells.choice("ocop_group", _GROUP_ALIASES, OCOP_GROUPS)
    if group is None and not cells.raw("ocop_group"):
        group = GROUP_2019_TO_2023.get(group_2019 or "")
        if group is None and not cells.raw("ocop_group_2019"):
            cells.error("ocop_group", _("cần nhóm OCOP (ocop_group hoặc ocop_group_2019)"))
    stars = cells.stars("ocop_stars")
    certified_on = cells.day("certified_on", latest)
    if stars > 0 and certified_on is None and not cells.raw("certified_on"):
        cells.error("certified_on", _("sản phẩm có sao cần ngày cấp giấy chứng nhận (YYYY-MM-DD)"))
    price_min = cells.integer("price_min_vnd", MAX_MONEY, money=True)
    price_max = cells.integer("price_max_vnd", MAX_MONEY, money=True)
    if price_min is not None and price_max is not None and price_min > price_max:
        cells.error("price_max_vnd", _("giá cao nhất nhỏ hơn giá thấp nhất"))
    lat, lng = cells.lat_lng()
    certifications = tuple(dict.fromkeys(canonical_certification(c) for c in _split_list(cells.raw("certifications"))))
    row = ProductRow(
        line=cells.line,
        ref=ref,
        producer_name=cells.text("producer_name", 200, required=True),
        district=cells.district("district"),
        product_name=cells.text("product_name", 200, required=True),
        ocop_group=group or "",
        producer_kind=cells.choice("producer_kind", _KIND_ALIASES, PRODUCER_KINDS),
        commune=cells.text("commune", 80),
        craft_village=cells.text("craft_village", 120),
        product_name_en=cells.text("product_name_en", 200),
        ocop_group_2019=group_2019,
        ocop_stars=stars,
        certificate_no=cells.text("certificate_no", 80),
        certified_on=certified_on,
        unit=cells.text("unit", 30),
        price_min_vnd=price_min,
        price_max_vnd=price_max,
        moq=cells.integer("moq", MAX_QUANTITY),
        monthly_capacity=cells.integer("monthly_capacity", MAX_QUANTITY),
        certifications=certifications,
        description=cells.text("description", 20000, one_line=False),
        lat=lat,
        lng=lng,
        status=cells.choice("status", _PRODUCT_STATUS_ALIASES, PRODUCT_STATUSES),
        columns=columns,
    )
    if len(";".join(row.certifications)) > 500:
        cells.error("certifications", _("dài quá %(n)d ký tự", n=500))
    return row


def validate_sales_points(path: str | Path) -> tuple[list[SalesPointRow], list[Problem]]:
    """Read and check a sales points file; product refs must exist in the database."""
    table = _read_table(path, SALES_POINT_REQUIRED)
    if any(p.fatal for p in table.problems):
        return [], table.problems
    problems = table.problems
    seen: dict[str, int] = {}
    parsed: list[tuple[_Cells, SalesPointRow]] = []
    columns = frozenset(table.header)
    for line, record in table.records:
        cells = _Cells(line, record, problems)
        lat, lng = cells.lat_lng()
        row = SalesPointRow(
            line=line,
            ref=cells.ref("ref", seen),
            name=cells.text("name", 200, required=True),
            kind=cells.choice("kind", _SALES_POINT_KIND_ALIASES, SALES_POINT_KINDS) or "",
            district=cells.district("district"),
            commune=cells.text("commune", 80),
            address=cells.text("address", 300),
            lat=lat,
            lng=lng,
            opening_hours=cells.text("opening_hours", 120),
            phone=cells.text("phone", 30),
            status=cells.choice("status", _SALES_POINT_STATUS_ALIASES, SALES_POINT_STATUSES),
            product_refs=tuple(_split_list(cells.raw("product_refs"))),
            columns=columns,
        )
        if not row.kind and not cells.raw("kind"):
            cells.error("kind", _("không được để trống"))
        parsed.append((cells, row))
    known = existing_product_refs({ref for _cells, row in parsed for ref in row.product_refs})
    for cells, row in parsed:
        unknown = [ref for ref in row.product_refs if ref not in known]
        if unknown:
            cells.error("product_refs", _("không có sản phẩm mang mã: %(refs)s", refs=", ".join(unknown[:10])))
    problems.sort(key=lambda p: p.line)
    return [row for cells, row in parsed if not cells.failed], problems
