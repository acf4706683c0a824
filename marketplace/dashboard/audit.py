"""The audit log of organiser actions: one `log_action` call per action, in the action's transaction.

Other features call it from their services (import it inside the function to keep imports
acyclic). Action names are stable `object.verb` codes listed in `AUDIT_ACTIONS` with their
Vietnamese labels; the dashboard's audit page filters on them.

A caller that wraps another feature's service which takes no reason (unhide a message, lift a
suspension) records its reason with `with audit_reason(text): service(...)`: a `log_action`
made inside the block without a reason of its own takes that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask_babel import lazy_gettext as _l

from marketplace.dashboard.models import AuditLog
from marketplace.extensions import db

AUDIT_ACTIONS = {
    "certificate.verify": _l("Xác minh chứng nhận"),
    "certificate.reject": _l("Từ chối chứng nhận"),
    "target.update": _l("Cập nhật chỉ tiêu"),
    "product.hide": _l("Ẩn sản phẩm"),
    "product.unhide": _l("Hiển thị lại sản phẩm"),
    "listing.dismiss": _l("Bỏ qua báo cáo sản phẩm"),
    "message.hide": _l("Ẩn tin nhắn"),
    "message.unhide": _l("Hiện lại tin nhắn"),
    "message_report.dismiss": _l("Bỏ qua báo cáo tin nhắn"),
    "rfq.hide": _l("Ẩn yêu cầu báo giá"),
    "rfq.unhide": _l("Hiện lại yêu cầu báo giá"),
    "user.suspend": _l("Tạm khóa tài khoản"),
    "user.unsuspend": _l("Mở khóa tài khoản"),
    "user.roles": _l("Đổi vai trò tài khoản"),
    "user.delete": _l("Người dùng tự xoá tài khoản"),
    "claim.approve": _l("Duyệt yêu cầu nhận quản lý gian hàng"),
    "claim.reject": _l("Từ chối yêu cầu nhận quản lý gian hàng"),
    "producer.invite": _l("Mời quản lý gian hàng"),
    "sales_point.approve": _l("Duyệt điểm bán"),
    "sales_point.reject": _l("Từ chối điểm bán"),
    "sales_point.suspend": _l("Tạm ngừng điểm bán"),
    "sales_point.reinstate": _l("Cho điểm bán hoạt động lại"),
}
# Codes written by earlier versions, still shown with a label.
LEGACY_ACTIONS = {
    "listing.hide": _l("Ẩn sản phẩm"),
    "listing.restore": _l("Hiển thị lại sản phẩm"),
}

_pending_reason: ContextVar[str] = ContextVar("audit_reason", default="")


@contextmanager
def audit_reason(reason: str) -> Iterator[None]:
    """Within the block, `log_action` calls without a reason record `reason`."""
    token = _pending_reason.set(reason or "")
    try:
        yield
    finally:
        _pending_reason.reset(token)


def action_label(action: str) -> str:
    label = AUDIT_ACTIONS.get(action) or LEGACY_ACTIONS.get(action)
    return str(label) if label is not None else action


def log_action(
    actor,
    action: str,
    object_type: str = "",
    object_id: int | None = None,
    label: str = "",
    reason: str = "",
) -> AuditLog:
    """Record that `actor` did `action` to an object (added to the session and flushed, never committed)."""
    entry = AuditLog(
        actor_id=getattr(actor, "id", None),
        action=action[:40],
        object_type=object_type[:40],
        object_id=object_id,
        object_label=(label or "")[:300],
        reason=reason or _pending_reason.get(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry
