"""The scorer's structured reasons as plain Vietnamese sentences (translated with Flask-Babel)."""

from __future__ import annotations

from datetime import date

from flask_babel import format_decimal
from flask_babel import gettext as _

from marketplace.core.money import format_vnd
from marketplace.data import certification_label
from marketplace.matching.scorer import Reason


def _field_label(name: str) -> str:
    labels = {
        "name": _("tên sản phẩm"),
        "name_en": _("tên tiếng Anh"),
        "desc": _("mô tả"),
        "tags": _("chứng nhận và nhóm sản phẩm"),
        "producer": _("tên nhà sản xuất"),
        "place": _("địa danh"),
    }
    return labels.get(name, name)


def number(value: object) -> str:
    """25000 -> '25.000'; 1.5 -> '1,5' (Vietnamese separators; English in the en locale)."""
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return format_decimal(amount, format="#,##0.#")


def km(value: object) -> str:
    amount = float(value)  # type: ignore[arg-type]
    return format_decimal(round(amount), format="#,##0") if amount >= 10 else format_decimal(amount, format="0.#")


def _names(values: object) -> str:
    return ", ".join(certification_label(str(v)) for v in (values or ()))  # type: ignore[union-attr]


def render(item: Reason) -> str:
    p = dict(item.params)
    code = item.code
    if code == "text":
        words = "”, “".join(str(w) for w in p["words"])  # type: ignore[union-attr]
        return _("Khớp “%(words)s” trong %(field)s", words=words, field=_field_label(str(p["field"])))
    if code == "stars":
        until = p.get("until")
        if isinstance(until, date):
            return _(
                "Đạt OCOP %(stars)s★ (còn hiệu lực đến %(until)s)", stars=p["stars"], until=until.strftime("%m/%Y")
            )
        return _("Đạt OCOP %(stars)s★", stars=p["stars"])
    if code == "capacity":
        return _(
            "Năng lực %(capacity)s %(unit)s/tháng ≥ %(quantity)s %(unit)s",
            capacity=number(p["capacity"]),
            unit=p["unit"],
            quantity=number(p["quantity"]),
        )
    if code == "moq":
        return _(
            "Đơn tối thiểu %(moq)s %(unit)s ≤ %(quantity)s %(unit)s",
            moq=number(p["moq"]),
            unit=p["unit"],
            quantity=number(p["quantity"]),
        )
    if code == "unit_other":
        if p.get("need_unit"):
            return _(
                "Tính theo %(unit)s, chưa so được với số lượng theo %(need_unit)s",
                unit=p["unit"],
                need_unit=p["need_unit"],
            )
        return _("Tính theo %(unit)s; hãy ghi đơn vị của số lượng để so năng lực", unit=p["unit"])
    if code == "distance":
        if p.get("place"):
            return _("Cách %(place)s %(km)s km", place=p["place"], km=km(p["km"]))
        return _("Cách điểm giao hàng %(km)s km", km=km(p["km"]))
    if code == "price_fit":
        if p.get("unit"):
            return _(
                "Giá từ %(price)s/%(unit)s, trong mức %(max)s",
                price=format_vnd(int(p["price"])),  # type: ignore[call-overload]
                unit=p["unit"],
                max=format_vnd(int(p["max"])),  # type: ignore[call-overload]
            )
        return _(
            "Giá từ %(price)s, trong mức %(max)s",
            price=format_vnd(int(p["price"])),  # type: ignore[call-overload]
            max=format_vnd(int(p["max"])),  # type: ignore[call-overload]
        )
    if code == "certifications":
        return _("Có chứng nhận %(names)s như yêu cầu", names=_names(p["names"]))
    if code == "certifications_held":
        return _("Chứng nhận: %(names)s", names=_names(p["names"]))
    if code == "responsive":
        seconds = p.get("seconds")
        rate = round(100 * float(p["rate"]))  # type: ignore[arg-type]
        if isinstance(seconds, int):
            hours = max(1, round(seconds / 3600))
            return _("Trả lời %(rate)s%% yêu cầu, thường trong %(hours)s giờ", rate=rate, hours=hours)
        return _("Trả lời %(rate)s%% yêu cầu", rate=rate)
    if code == "more_from_producer":
        return _("Nhà sản xuất này còn %(n)s sản phẩm phù hợp khác", n=p["n"])
    if code == "carries":
        names = "”, “".join(str(n) for n in p["names"])  # type: ignore[union-attr]
        if p.get("more"):
            return _("Có bán “%(names)s” và %(n)s sản phẩm phù hợp khác", names=names, n=p["more"])
        return _("Có bán “%(names)s”", names=names)
    if code == "hours":
        return _("Mở cửa %(hours)s", hours=p["hours"])
    return _("Phù hợp với nhu cầu")


def render_all(reasons: tuple[Reason, ...] | list[Reason]) -> list[str]:
    """Every reason as a sentence; never empty."""
    return [render(r) for r in reasons] or [_("Phù hợp với nhu cầu")]
