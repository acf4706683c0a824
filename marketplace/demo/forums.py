"""seed-demo's trade-connection forum: one open forum with registrations, meetings and a schedule.

Built through the forum services (set-up, registration and approval, meeting requests and answers,
recommendations, the scheduler) so the demo obeys the same rules as real data. Deterministic for a
seed (which users and producers take part, who meets whom); idempotent: an existing demo forum (same
title) is left alone. Flushes only, the CLI commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.dates import HANOI, today
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums.meetings import request_meeting, respond
from marketplace.forums.models import Forum, Meeting, Registration
from marketplace.forums.recommendations import refresh_recommendations
from marketplace.forums.registration import RegistrationData, approve, register
from marketplace.forums.scheduling import run_schedule
from marketplace.forums.setup import ForumData, SessionData, change_status, create_forum, local_datetime, set_sessions
from marketplace.imports.services import Progress
from marketplace.producers.models import Producer

FORUM_TITLE = "Diễn đàn kết nối giao thương sản phẩm OCOP Hà Nội 2026"
FORUM_VENUE = "Trung tâm Hội chợ triển lãm Việt Nam, số 148 đường Giải Phóng, Hoàng Mai"
FORUM_DESCRIPTION = (
    "Diễn đàn do Sở Nông nghiệp và Môi trường Hà Nội tổ chức, kết nối các doanh nghiệp phân phối, "
    "siêu thị, công ty quà tặng và xuất khẩu với các chủ thể OCOP của Thủ đô. Mỗi cuộc gặp song "
    "phương kéo dài 20 phút tại bàn được xếp sẵn; người mua và nhà sản xuất gửi lời mời gặp trước "
    "diễn đàn, ban tổ chức xếp lịch và gợi ý thêm các cặp phù hợp."
)
TABLES = 20
APPROVED_BUYERS = 12
APPROVED_PRODUCERS = 24
PENDING_BUYERS = 2
PENDING_PRODUCERS = 3
MEETING_REQUESTS = 40
SCHEDULE_SECONDS = 1.5
# Progress steps reported to seed-demo's bar (the CLI adds them to its length).
STEPS = 6

# Buyer organisations: (organisation, what they seek, OCOP groups). The first is the demo buyer's.
BUYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Công ty CP Quà tặng Hà Thành",
        "Quà tặng Tết doanh nghiệp: chè Shan tuyết, bánh kẹo truyền thống, gốm Bát Tràng, hộp quà OCOP",
        ("food", "beverage", "handicraft"),
    ),
    ("Hệ thống siêu thị Thủ Đô Mart", "Thực phẩm OCOP đóng gói: gạo, miến, bún khô, mật ong, giò chả", ("food",)),
    (
        "Công ty TNHH Xuất nhập khẩu Sông Hồng",
        "Hàng thủ công mỹ nghệ xuất khẩu: mây tre đan, sơn mài, lụa",
        ("handicraft",),
    ),
    ("Chuỗi cửa hàng Nông sản sạch Hà Nội", "Rau củ, gạo nếp, trứng, thịt chế biến đạt OCOP 3 sao trở lên", ("food",)),
    (
        "Công ty CP Du lịch Hồ Gươm",
        "Quà lưu niệm cho khách du lịch, tour làng nghề, sản phẩm du lịch cộng đồng",
        ("handicraft", "tourism"),
    ),
    ("Nhà hàng Hương Sen Group", "Nguyên liệu đặc sản: chả cá, nem, bánh cuốn, rượu làng, chè", ("food", "beverage")),
    ("Công ty TNHH Dược liệu Ba Vì Xanh", "Dược liệu và trà thảo mộc: cao, trà túi lọc, tinh dầu", ("herbal",)),
    (
        "Sàn thương mại điện tử Chợ Quê Online",
        "Sản phẩm OCOP bán trực tuyến: bánh kẹo, đồ khô, đồ uống, quà tặng",
        ("food", "beverage"),
    ),
    ("Công ty CP Nội thất Việt Mộc", "Đồ gỗ mỹ nghệ, tượng gỗ, đồ trang trí nội thất, gốm sứ", ("handicraft",)),
    (
        "Khách sạn Thăng Long Heritage",
        "Quà tặng khách lưu trú, trà, bánh, đồ lưu niệm làng nghề",
        ("food", "handicraft"),
    ),
    ("Hợp tác xã Thương mại Đông Anh", "Nông sản và thực phẩm chế biến cho bếp ăn tập thể", ("food",)),
    ("Công ty TNHH Phân phối Hoàng Long", "Đồ uống OCOP: rượu, nước ép, trà, cà phê đóng chai", ("beverage",)),
    ("Công ty CP Thời trang Lụa Việt", "Lụa Vạn Phúc, khăn, áo dài, thêu tay", ("handicraft",)),
    ("Cửa hàng Đặc sản Ba Miền", "Đặc sản Hà Nội: ô mai, bánh cốm, chè, giò chả", ("food",)),
)
CONTACTS = (
    "Nguyễn Thị Lan",
    "Trần Văn Hùng",
    "Lê Thị Hương",
    "Phạm Quốc Bảo",
    "Hoàng Thị Mai",
    "Vũ Đức Thắng",
    "Đặng Thị Ngọc",
    "Bùi Văn Toàn",
    "Đỗ Thị Thu",
    "Ngô Minh Tuấn",
    "Dương Thị Hạnh",
    "Lý Văn Phúc",
    "Trịnh Thị Yến",
    "Phan Văn Long",
    "Mai Thị Hoa",
    "Tạ Quang Huy",
    "Chu Thị Nga",
    "Lương Văn Khánh",
    "Hà Thị Thanh",
    "Cao Văn Sơn",
    "Kiều Thị Loan",
    "Đinh Văn Nam",
    "Tô Thị Diệu",
    "Nghiêm Văn Tài",
    "Lại Thị Vân",
    "Quách Văn Dũng",
    "Võ Thị Kim",
    "Triệu Văn Lâm",
    "Khúc Thị Oanh",
    "Doãn Văn Hải",
)
REQUEST_MESSAGES = (
    "Chúng tôi muốn tìm hiểu năng lực cung ứng và giá sỉ cho đơn hàng quý I/2027.",
    "Rất mong được gặp để trao đổi về mẫu mã bao bì quà tặng Tết.",
    "Bên em cần nguồn hàng ổn định, mong anh chị dành thời gian trao đổi.",
    "Chúng tôi quan tâm đến sản phẩm đạt OCOP 4 sao của quý đơn vị.",
    "",
)
PRODUCER_MESSAGES = (
    "Cơ sở chúng tôi muốn giới thiệu sản phẩm mới và chính sách giá cho nhà phân phối.",
    "Mong được gặp để chào hàng và gửi mẫu thử.",
    "",
)


@dataclass
class ForumReport:
    forum_id: int | None = None
    created: bool = False
    buyers: int = 0
    producers: int = 0
    pending: int = 0
    requests: int = 0
    recommended: int = 0
    placed: int = 0
    users_created: list[str] = field(default_factory=list)


def forum_dates(on: date) -> tuple[date, date]:
    """A one-day forum in mid-December 2026, or two weeks after `on` when that is already late."""
    starts_on = max(date(2026, 12, 17), on + timedelta(days=14))
    return starts_on, starts_on


def seed_forum(seed: int = 42, progress: Progress | None = None) -> ForumReport:
    """Create the demo forum unless it exists. Needs the demo accounts and producers (seed_demo)."""
    advance = progress or (lambda _n=1: None)
    existing = db.session.scalar(sa.select(Forum).where(Forum.title == FORUM_TITLE))
    if existing is not None:
        advance(STEPS)
        return ForumReport(forum_id=existing.id)
    rng = random.Random(f"forum-{seed}")
    accounts = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.like("%@demo.ocop.vn")))}
    organiser, demo_buyer, demo_producer = (
        accounts["organiser@demo.ocop.vn"],
        accounts["buyer@demo.ocop.vn"],
        accounts["producer@demo.ocop.vn"],
    )
    report = ForumReport(created=True)

    # The forum, its two sessions, then open for registration.
    # Honour MARKETPLACE_TODAY, but registration must still be open by the real clock.
    starts_on, ends_on = forum_dates(max(today(), utcnow().astimezone(HANOI).date()))
    forum_start = local_datetime(starts_on, time(8, 0))
    deadline = max(local_datetime(starts_on - timedelta(days=4), time(17, 0)), utcnow() + timedelta(days=2))
    deadline = min(deadline, forum_start - timedelta(hours=2))
    forum = create_forum(
        organiser,
        ForumData(
            title=FORUM_TITLE,
            description=FORUM_DESCRIPTION,
            venue=FORUM_VENUE,
            district="Hoàng Mai",
            starts_on=starts_on,
            ends_on=ends_on,
            registration_deadline=deadline,
            request_deadline=forum_start - timedelta(hours=1),
            tables=TABLES,
            max_meetings_per_participant=8,
            capacity_buyers=60,
            capacity_producers=120,
        ),
    )
    set_sessions(
        organiser,
        forum,
        [
            SessionData(
                day=starts_on,
                name="Phiên sáng",
                starts_at=time(8, 0),
                ends_at=time(11, 40),
                meeting_minutes=20,
                break_starts_at=time(9, 40),
                break_ends_at=time(10, 0),
            ),
            SessionData(
                day=starts_on,
                name="Phiên chiều",
                starts_at=time(13, 30),
                ends_at=time(17, 10),
                meeting_minutes=20,
                break_starts_at=time(15, 10),
                break_ends_at=time(15, 30),
            ),
        ],
    )
    change_status(organiser, forum, "open")
    sessions = list(forum.sessions)
    advance(1)

    # Participants: the demo buyer and producer accounts first, then demo users created as needed.
    password_hash = demo_buyer.password_hash
    buyer_users = [demo_buyer] + [
        _demo_user(accounts, f"nguoimua{i:02d}@demo.ocop.vn", ("buyer",), BUYERS[i][0], password_hash, report)
        for i in range(1, min(len(BUYERS), APPROVED_BUYERS + PENDING_BUYERS))
    ]
    buyer_profiles = list(zip(buyer_users, BUYERS, strict=False))
    others = buyer_profiles[1:]
    rng.shuffle(others)
    buyer_profiles = buyer_profiles[:1] + others

    producers = _producers(demo_producer, rng, APPROVED_PRODUCERS + PENDING_PRODUCERS)
    contacts = list(CONTACTS)
    rng.shuffle(contacts)
    approved_buyers: list[Registration] = []
    approved_producers: list[Registration] = []
    for index, (user, (organisation, seeks, groups)) in enumerate(buyer_profiles):
        if not user.name:
            user.name = contacts[index % len(contacts)]
        registration = register(
            forum,
            user,
            RegistrationData(
                kind="buyer",
                contact_name=user.name,
                email=user.email,
                phone=f"09{rng.randint(10_000_000, 99_999_999)}",
                organisation=organisation,
                seeks=seeks,
                groups=groups,
                session_ids=_sessions_of(sessions, rng, index == 0),
            ),
        )
        if index < APPROVED_BUYERS:
            approve(organiser, registration)
            approved_buyers.append(registration)
        else:
            report.pending += 1
    advance(1)
    for index, producer in enumerate(producers):
        user = demo_producer if index == 0 else None
        if user is None:
            email = f"sanxuat{index:02d}@demo.ocop.vn"
            name = contacts[(index + len(buyer_profiles)) % len(contacts)]
            user = _demo_user(accounts, email, ("producer",), "", password_hash, report, name=name)
            if not producer.is_managed_by(user):
                producer.managers.append(user)
                db.session.flush()
        products = list(
            db.session.scalars(
                sa.select(Product)
                .where(Product.producer_id == producer.id, Product.status == "published")
                .order_by(Product.id)
                .limit(3)
            )
        )
        groups = sorted({p.ocop_group for p in products})
        names = ", ".join(p.name for p in products) or producer.name
        registration = register(
            forum,
            user,
            RegistrationData(
                kind="producer",
                contact_name=user.name,
                email=user.email,
                phone=f"09{rng.randint(10_000_000, 99_999_999)}",
                producer_id=producer.id,
                offers=f"Chào bán: {names}. Nhận đơn sỉ, làm hộp quà theo yêu cầu.",
                seeks="Nhà phân phối, siêu thị, đối tác quà tặng và xuất khẩu.",
                groups=groups,
                session_ids=_sessions_of(sessions, rng, index == 0),
                product_ids=[p.id for p in products],
            ),
        )
        if index < APPROVED_PRODUCERS:
            approve(organiser, registration)
            approved_producers.append(registration)
        else:
            report.pending += 1
    report.buyers, report.producers = len(approved_buyers), len(approved_producers)
    advance(1)

    # Meeting requests, answered through the meetings service: mostly accepted.
    report.requests = _meetings(rng, approved_buyers, approved_producers)
    advance(1)
    report.recommended = refresh_recommendations(forum).created
    advance(1)
    report.placed = run_schedule(organiser, forum, time_limit_s=SCHEDULE_SECONDS).placed
    advance(1)
    report.forum_id = forum.id
    return report


def _demo_user(
    accounts: dict[str, User],
    email: str,
    roles: tuple[str, ...],
    organisation: str,
    password_hash: str,
    report: ForumReport,
    name: str = "",
) -> User:
    """The demo user with this email, created (verified, with the demo password) when missing."""
    user = accounts.get(email)
    if user is not None:
        return user
    user = User(email=email, password_hash=password_hash, name=name, organisation=organisation)
    user.roles = set(roles)
    user.email_verified_at = utcnow()
    db.session.add(user)
    db.session.flush()
    accounts[email] = user
    report.users_created.append(email)
    return user


def _sessions_of(sessions: list, rng: random.Random, everywhere: bool) -> list[int]:
    """Most participants come all day; some only in the morning or the afternoon."""
    if everywhere or len(sessions) < 2 or rng.random() < 0.7:
        return [s.id for s in sessions]
    return [rng.choice(sessions).id]


def _producers(demo_producer: User, rng: random.Random, count: int) -> list[Producer]:
    """The demo producer account's producers first, then others drawn with the seed, preferring
    producers with published products."""
    managed = sorted(
        db.session.scalars(sa.select(Producer).where(Producer.managers.contains(demo_producer))), key=lambda p: p.id
    )
    with_products = set(
        db.session.scalars(sa.select(Product.producer_id).where(Product.status == "published").distinct())
    )
    pool = [
        p
        for p in db.session.scalars(sa.select(Producer).order_by(Producer.id))
        if p not in managed and p.id in with_products
    ]
    chosen = managed + rng.sample(pool, min(len(pool), max(0, count - len(managed))))
    return chosen[:count]


def _meetings(rng: random.Random, buyers: list[Registration], producers: list[Registration]) -> int:
    """About MEETING_REQUESTS requests: three quarters from buyers; 75 % accepted, 15 % still
    waiting, 10 % declined. The demo buyer gets accepted meetings and one invitation to answer."""
    if not buyers or not producers:
        return 0
    pairs: list[tuple[Registration, Registration]] = []
    seen: set[tuple[int, int]] = set()
    demo_buyer = buyers[0]
    for producer in rng.sample(producers, min(5, len(producers))):
        pairs.append((demo_buyer, producer))
        seen.add((demo_buyer.id, producer.id))
    attempts = 0
    while len(pairs) < MEETING_REQUESTS and attempts < MEETING_REQUESTS * 20:
        attempts += 1
        buyer, producer = rng.choice(buyers[1:] or buyers), rng.choice(producers)
        if (buyer.id, producer.id) not in seen:
            seen.add((buyer.id, producer.id))
            pairs.append((buyer, producer))
    made = 0
    for index, (buyer, producer) in enumerate(pairs):
        if index == 4:
            requester, invitee = producer, buyer  # an invitation waiting for the demo buyer
            answer = None
        else:
            from_buyer = index < 4 or rng.random() < 0.75
            requester, invitee = (buyer, producer) if from_buyer else (producer, buyer)
            roll = rng.random()
            answer = True if index < 4 or roll < 0.75 else None if roll < 0.9 else False
        messages = REQUEST_MESSAGES if requester.kind == "buyer" else PRODUCER_MESSAGES
        meeting: Meeting = request_meeting(requester, invitee, rng.choice(messages))
        if answer is not None:
            respond(meeting, invitee, accept=answer)
        made += 1
    return made
