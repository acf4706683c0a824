"""The forum report for organisers: registrations, meetings, attendance, agreements and deal value.

Rules (also stated on the page):
- a meeting was *held* when either side recorded held, negotiating or agreement;
- it ended in an *agreement* when either side recorded agreement;
- its *deal value* is the larger of the two sides' estimates (never their sum);
- a meeting belongs to the OCOP group of its producer side: the first group that registration
  listed, else the group of its first product ("Chưa rõ" when neither is known).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from marketplace.core.i18n import label
from marketplace.data import OCOP_GROUPS
from marketplace.extensions import db
from marketplace.forums.agenda import PLACED_STATUSES
from marketplace.forums.models import Forum, Meeting, Registration

HELD_RESULTS = ("held", "negotiating", "agreement")
UNKNOWN_GROUP = ""


@dataclass
class ReportTable:
    key: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    money_columns: tuple[int, ...] = ()  # VND columns (formatted on the page, raw in CSV)


@dataclass
class MeetingTotals:
    requested: int = 0
    accepted: int = 0
    declined: int = 0
    recommended: int = 0
    scheduled: int = 0
    released: int = 0
    held: int = 0
    agreements: int = 0
    deal_value_vnd: int = 0


@dataclass
class ForumReport:
    forum: Forum
    totals: MeetingTotals
    tables: list[ReportTable]
    checked_in: int = 0
    approved: int = 0

    def table(self, key: str) -> ReportTable | None:
        return next((t for t in self.tables if t.key == key), None)


def kind_label(code: str) -> str:
    if code == "buyer":
        return _("Người mua")
    if code == "producer":
        return _("Nhà sản xuất")
    return code


def group_label(code: str) -> str:
    return label(OCOP_GROUPS, code) if code else _("Chưa rõ")


def registration_groups(registration: Registration) -> list[str]:
    """The OCOP group codes a registration listed (known codes, in order, no repeats)."""
    seen: list[str] = []
    for code in (registration.groups or "").split(","):
        code = code.strip()
        if code in OCOP_GROUPS and code not in seen:
            seen.append(code)
    return seen


def meeting_group(meeting: Meeting) -> str:
    producer = next((s for s in (meeting.invitee, meeting.requester) if s.kind == "producer"), None)
    if producer is None:
        return UNKNOWN_GROUP
    groups = registration_groups(producer)
    if groups:
        return groups[0]
    for product in producer.products:
        if product.ocop_group in OCOP_GROUPS:
            return product.ocop_group
    return UNKNOWN_GROUP


@dataclass
class MeetingResult:
    held: bool
    agreement: bool
    value: int


def meeting_result(meeting: Meeting) -> MeetingResult:
    results = {o.result for o in meeting.outcomes}
    values = [o.deal_value_vnd for o in meeting.outcomes if o.deal_value_vnd is not None]
    return MeetingResult(
        held=bool(results & set(HELD_RESULTS)),
        agreement="agreement" in results,
        value=max(values, default=0),
    )


def build_report(forum: Forum) -> ForumReport:
    registrations = db.session.scalars(
        sa.select(Registration).where(Registration.forum_id == forum.id).options(selectinload(Registration.products))
    ).all()
    meetings = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.forum_id == forum.id)
        .options(
            selectinload(Meeting.outcomes),
            selectinload(Meeting.requester).selectinload(Registration.products),
            selectinload(Meeting.invitee).selectinload(Registration.products),
        )
    ).all()
    tables = [_registrations_by_type(registrations), _registrations_by_group(registrations)]
    totals, by_group = _meetings(meetings)
    tables.append(_meetings_table(totals))
    tables.append(by_group)
    approved = [r for r in registrations if r.status == "approved"]
    return ForumReport(
        forum=forum,
        totals=totals,
        tables=tables,
        checked_in=sum(1 for r in approved if r.checked_in_at is not None),
        approved=len(approved),
    )


def _registrations_by_type(registrations) -> ReportTable:
    statuses = ("pending", "approved", "refused", "cancelled")
    counts = Counter((r.kind, r.status) for r in registrations)
    checked = Counter(r.kind for r in registrations if r.status == "approved" and r.checked_in_at is not None)
    table = ReportTable(
        "registrations",
        _("Đăng ký theo loại"),
        [_("Loại"), _("Chờ duyệt"), _("Đã duyệt"), _("Không được duyệt"), _("Đã huỷ"), _("Đã check-in"), _("Tổng")],
    )
    for kind in ("buyer", "producer"):
        row = [counts[(kind, s)] for s in statuses]
        table.rows.append([kind_label(kind), *row, checked[kind], sum(row)])
    columns = list(zip(*[r[1:] for r in table.rows], strict=True))
    table.rows.append([_("Tổng"), *[sum(c) for c in columns]])
    return table


def _registrations_by_group(registrations) -> ReportTable:
    table = ReportTable(
        "groups",
        _("Đăng ký đã duyệt theo nhóm OCOP"),
        [_("Nhóm OCOP"), _("Người mua"), _("Nhà sản xuất"), _("Tổng")],
    )
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in registrations:
        if r.status != "approved":
            continue
        for code in registration_groups(r) or [UNKNOWN_GROUP]:
            counts[code][r.kind] += 1
    for code in [*OCOP_GROUPS, UNKNOWN_GROUP]:
        if code in counts:
            c = counts[code]
            table.rows.append([group_label(code), c["buyer"], c["producer"], c["buyer"] + c["producer"]])
    return table


def _meetings(meetings) -> tuple[MeetingTotals, ReportTable]:
    totals = MeetingTotals()
    per_group: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # scheduled, held, agreements, value
    for m in meetings:
        if m.origin == "request":
            totals.requested += 1
            if m.status in ("accepted", "released"):
                totals.accepted += 1
            elif m.status == "declined":
                totals.declined += 1
        elif m.slot_id is not None and m.status in PLACED_STATUSES:
            totals.recommended += 1
        if m.status == "released":
            totals.released += 1
        placed = m.slot_id is not None and m.status in PLACED_STATUSES
        if not placed:
            continue
        totals.scheduled += 1
        result = meeting_result(m)
        row = per_group[meeting_group(m)]
        row[0] += 1
        if result.held:
            totals.held += 1
            row[1] += 1
        if result.agreement:
            totals.agreements += 1
            row[2] += 1
        totals.deal_value_vnd += result.value
        row[3] += result.value
    table = ReportTable(
        "agreements",
        _("Cuộc gặp, thỏa thuận và giá trị theo nhóm OCOP"),
        [_("Nhóm OCOP"), _("Đã xếp lịch"), _("Đã gặp"), _("Thỏa thuận"), _("Giá trị ước tính (VND)")],
        money_columns=(4,),
    )
    for code in [*OCOP_GROUPS, UNKNOWN_GROUP]:
        if code in per_group:
            table.rows.append([group_label(code), *per_group[code]])
    if table.rows:
        table.rows.append([_("Tổng"), totals.scheduled, totals.held, totals.agreements, totals.deal_value_vnd])
    return totals, table


def _meetings_table(totals: MeetingTotals) -> ReportTable:
    table = ReportTable("meetings", _("Thống kê cuộc gặp"), [_("Chỉ tiêu"), _("Số lượng")])
    table.rows = [
        [_("Yêu cầu gặp"), totals.requested],
        [_("Yêu cầu được chấp nhận"), totals.accepted],
        [_("Yêu cầu bị từ chối"), totals.declined],
        [_("Gợi ý được xếp lịch"), totals.recommended],
        [_("Đã xếp lịch"), totals.scheduled],
        [_("Giải phóng do vắng mặt"), totals.released],
        [_("Đã gặp"), totals.held],
        [_("Thỏa thuận"), totals.agreements],
    ]
    return table


def table_csv(table: ReportTable) -> bytes:
    """UTF-8 with a BOM (Excel reads it), like the dashboard's exports; money as plain integers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
