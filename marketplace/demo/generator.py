"""A believable Hà Nội OCOP catalogue, generated deterministically from a seed.

Pure: no database, no clock, no global random state. Everything comes from `random.Random(seed)`
and the `on` date (today, honouring MARKETPLACE_TODAY), so the same seed on the same day gives the
same rows. The rows are the import's typed rows, loaded through the import services.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from marketplace.core.money import format_vnd
from marketplace.core.vn_text import fold
from marketplace.data import GROUP_2019_TO_2023, CraftVillage, craft_villages, districts
from marketplace.demo.words import (
    BRANDS,
    COMMUNES,
    COMPANY_FORMS,
    COOP_WORDS,
    CRAFT_WORDS,
    DISTRICT_TYPES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    HOTELS,
    MALE_NAMES,
    QUALITY_WORDS,
    REST_STOPS,
    STATIONS,
    SUPERMARKETS,
    TYPE_BY_KEY,
    TYPES,
    VILLAGE_TYPES,
    ProductType,
)
from marketplace.imports.rows import ProductRow, SalesPointRow

# Share of products per Decision 1048 group (ornamental has none); textile + souvenir = handicraft.
SHARES: dict[str, float] = {
    "food": 0.40,
    "textile": 0.19,
    "souvenir": 0.34,
    "beverage": 0.03,
    "herbal": 0.02,
    "ornamental": 0.01,
    "tourism": 0.01,
}
PRODUCTS_PER_PRODUCER = 4.8
VILLAGE_SHARE = {
    "food": 0.25,
    "textile": 0.85,
    "souvenir": 0.85,
    "beverage": 0.2,
    "herbal": 0.3,
    "ornamental": 0.5,
    "tourism": 0.6,
}
KIND_WEIGHTS = {
    "food": (("cooperative", 40), ("enterprise", 28), ("household", 27), ("group", 5)),
    "beverage": (("cooperative", 35), ("enterprise", 35), ("household", 25), ("group", 5)),
    "herbal": (("cooperative", 45), ("enterprise", 25), ("household", 20), ("group", 10)),
    "textile": (("cooperative", 20), ("enterprise", 30), ("household", 45), ("group", 5)),
    "souvenir": (("cooperative", 22), ("enterprise", 25), ("household", 48), ("group", 5)),
    "ornamental": (("cooperative", 40), ("enterprise", 10), ("household", 45), ("group", 5)),
    "tourism": (("cooperative", 40), ("enterprise", 50), ("household", 0), ("group", 10)),
}
CAPACITY_FACTOR = {"enterprise": 2.5, "cooperative": 1.5, "group": 1.0, "household": 0.6}
DISTRICT_WEIGHT = {"quận": 1.0, "thị xã": 2.0, "huyện": 3.0}
SALES_POINT_KINDS = (
    ("shop", 28),
    ("mall", 10),
    ("market", 10),
    ("station", 5),
    ("rest_stop", 5),
    ("hotel", 12),
    ("craft_village", 15),
    ("post_office", 15),
)
OPENING_HOURS = {
    "shop": "08:00-21:00",
    "mall": "09:00-22:00",
    "market": "05:30-18:00",
    "station": "05:00-22:00",
    "rest_stop": "00:00-24:00",
    "hotel": "07:00-22:00",
    "craft_village": "07:30-17:30",
    "post_office": "07:30-17:00",
}


def subgroup(ocop_group: str, ocop_group_2019: str | None) -> str:
    """The share key of a row: its 2019 group, 'ornamental', or 'souvenir' for other handicrafts."""
    if ocop_group_2019:
        return ocop_group_2019
    return "souvenir" if ocop_group == "handicraft" else ocop_group


def _type_sub(t: ProductType) -> str:
    return t.group_2019 or "ornamental"


@dataclass
class _Producer:
    name: str
    kind: str
    district: str
    commune: str
    village: str
    place: str
    lat: float
    lng: float
    types: list[ProductType]


@dataclass
class DemoPlan:
    products: list[ProductRow] = field(default_factory=list)
    sales_points: list[SalesPointRow] = field(default_factory=list)
    managed: list[tuple[str, str]] = field(default_factory=list)  # (producer name, district)
    producers: int = 0


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` in proportion to `weights` (largest remainder), summing exactly to total."""
    whole = sum(weights.values())
    if total <= 0 or whole <= 0:
        return dict.fromkeys(weights, 0)
    exact = {k: total * w / whole for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:rest]:
        counts[k] += 1
    return counts


class DemoGenerator:
    def __init__(self, seed: int, on: date):
        self.rng = random.Random(seed)
        self.on = on
        self.villages = {v.village: v for v in craft_villages()}
        self.districts = {d.name: d for d in districts()}
        self.names: set[str] = set()

    # ------------------------------------------------------------------ plan

    def plan(self, total: int, samples: list[ProductRow]) -> DemoPlan:
        plan = DemoPlan()
        self.names.update(fold(r.producer_name) for r in samples)
        have = Counter(subgroup(r.ocop_group, r.ocop_group_2019) for r in samples)
        to_make = max(0, total - len(samples))
        deficits = {k: max(0.0, total * share - have[k]) for k, share in SHARES.items()}
        counts = allocate(to_make, deficits)
        producers: list[tuple[_Producer, int]] = []
        for sub in SHARES:
            n = counts[sub]
            if n <= 0:
                continue
            group_producers = [self.producer(sub) for _ in range(max(1, min(n, round(n / PRODUCTS_PER_PRODUCER))))]
            for producer, count in zip(group_producers, self.spread(n, len(group_producers)), strict=True):
                producers.append((producer, count))
        self.rng.shuffle(producers)
        for producer, count in producers:
            plan.products.extend(self.products(producer, count, start=len(plan.products) + 1))
        plan.producers = len(producers)
        for kind in ("cooperative", "enterprise", "household"):
            first = next((p for p, _ in producers if p.kind == kind), None)
            if first is not None:
                plan.managed.append((first.name, first.district))
        plan.sales_points = self.sales_points(total, samples + plan.products)
        return plan

    def spread(self, total: int, parts: int) -> list[int]:
        """Products per producer: at least one each, a long tail for the big ones."""
        counts = [1] * parts
        weights = [min(12.0, self.rng.paretovariate(1.6)) for _ in range(parts)]
        for index in self.rng.choices(range(parts), weights=weights, k=total - parts):
            counts[index] += 1
        return counts

    # ------------------------------------------------------------------ producers

    def producer(self, sub: str) -> _Producer:
        rng = self.rng
        village = self.pick_village(sub) if rng.random() < VILLAGE_SHARE[sub] else None
        if village is not None:
            keys = VILLAGE_TYPES[village.village][0]
            pool = [TYPE_BY_KEY[k] for k in keys if _type_sub(TYPE_BY_KEY[k]) == sub]
            district, commune = village.district, village.commune
            place = village.village.split(" (")[0]
            place = "làng " + place[5:] if place.startswith("Làng ") else place
            lat, lng = village.lat + rng.uniform(-0.004, 0.004), village.lng + rng.uniform(-0.004, 0.004)
        else:
            district = self.pick_district(sub)
            special = [TYPE_BY_KEY[k] for k in DISTRICT_TYPES.get(district, ()) if _type_sub(TYPE_BY_KEY[k]) == sub]
            general = [t for t in TYPES if t.anywhere and _type_sub(t) == sub]
            pool = special if special and rng.random() < 0.7 else general
            commune = rng.choice(COMMUNES[district])
            place = commune
            centre = self.districts[district]
            lat, lng = centre.lat + rng.uniform(-0.02, 0.02), centre.lng + rng.uniform(-0.02, 0.02)
        kinds, weights = zip(*KIND_WEIGHTS[sub], strict=True)
        kind = rng.choices(kinds, weights=weights)[0]
        how_many = min(len(pool), 1 + (rng.random() < 0.35) + (rng.random() < 0.1))
        types = rng.sample(pool, how_many)
        return _Producer(
            name=self.producer_name(kind, types[0], place),
            kind=kind,
            district=district,
            commune=commune,
            village=village.village if village else "",
            place=place,
            lat=round(lat, 5),
            lng=round(lng, 5),
            types=types,
        )

    def pick_village(self, sub: str) -> CraftVillage | None:
        candidates = [
            (self.villages[name], weight)
            for name, (keys, weight) in VILLAGE_TYPES.items()
            if name in self.villages and any(_type_sub(TYPE_BY_KEY[k]) == sub for k in keys)
        ]
        if not candidates:
            return None
        villages, weights = zip(*candidates, strict=True)
        return self.rng.choices(villages, weights=weights)[0]

    def pick_district(self, sub: str) -> str:
        names = sorted(self.districts)
        weights = []
        for name in names:
            weight = DISTRICT_WEIGHT.get(self.districts[name].kind, 1.0)
            if any(_type_sub(TYPE_BY_KEY[k]) == sub for k in DISTRICT_TYPES.get(name, ())):
                weight *= 2
            weights.append(weight)
        return self.rng.choices(names, weights=weights)[0]

    def person(self) -> str:
        given = self.rng.choice(FEMALE_NAMES if self.rng.random() < 0.55 else MALE_NAMES)
        return f"{self.rng.choice(FAMILY_NAMES)} {given[0]} {given[1]}"

    def producer_name(self, kind: str, main: ProductType, place: str) -> str:
        rng = self.rng
        trade = main.trade
        for attempt in range(12):
            brand = rng.choice(BRANDS)
            if kind == "cooperative":
                word = (
                    trade
                    if main.group_2019 in ("textile", "souvenir", "tourism", None) or rng.random() < 0.5
                    else rng.choice(COOP_WORDS)
                )
                crafts = main.group_2019 in ("textile", "souvenir")
                extra = f" {rng.choice(CRAFT_WORDS if crafts else QUALITY_WORDS)}" if attempt >= 2 else ""
                name = f"HTX {word}{extra} {place}" if attempt < 6 else f"HTX {word} {place} {brand}"
            elif kind == "group":
                name = f"Tổ hợp tác {trade} {place}" if attempt < 2 else f"Tổ hợp tác {trade} {place} {brand}"
            elif kind == "enterprise":
                form = rng.choice(COMPANY_FORMS)
                name = f"{form} {trade} {place} {brand}" if rng.random() < 0.5 else f"{form} {trade} {brand}"
            elif rng.random() < 0.7:
                name = f"Hộ kinh doanh {self.person()}"
            else:
                name = f"Cơ sở {trade[0].lower() + trade[1:]} {brand}"
            if attempt >= 10:
                name = f"{name} {attempt - 8}"
            if fold(name) not in self.names:
                self.names.add(fold(name))
                return name
        raise RuntimeError("no free producer name")  # pragma: no cover (12 attempts always find one)

    # ------------------------------------------------------------------ products

    def products(self, producer: _Producer, count: int, start: int) -> list[ProductRow]:
        rng = self.rng
        combos = [(t, name, variant) for t in producer.types for name in t.names for variant in t.variants]
        rng.shuffle(combos)
        rows: list[ProductRow] = []
        used: set[str] = set()
        for index in range(count):
            t, (name_vi, name_en), (variant_vi, variant_en) = combos[index % len(combos)]
            with_place = rng.random() < (0.3 if t.anywhere else 0.6) and fold(producer.place) not in fold(name_vi)
            if variant_vi and name_vi.split()[-1] == variant_vi.split()[0]:
                variant_vi = variant_vi.split(" ", 1)[1]  # "Tượng gỗ" + "gỗ mít" -> "Tượng gỗ mít"
            vi = " ".join(part for part in (name_vi, variant_vi, producer.place if with_place else "") if part)
            en = f"{fold(producer.place).title()} {name_en}" if with_place else name_en
            if variant_en:
                en = f"{en}, {variant_en}"
            model = 2
            base_vi, base_en = vi, en
            while fold(vi) in used:
                vi, en = f"{base_vi} – mẫu {model}", f"{base_en} – model {model}"
                model += 1
            used.add(fold(vi))
            rows.append(self.product_row(producer, t, vi, en[0].upper() + en[1:], start + index))
        return rows

    def product_row(self, producer: _Producer, t: ProductType, name: str, name_en: str, number: int) -> ProductRow:
        rng = self.rng
        price_min = _nice(rng.uniform(*t.price))
        price_max = max(price_min, _nice(price_min * rng.uniform(1.0, t.spread)))
        moq = _round_quantity(rng.randint(*t.moq))
        capacity = max(moq, _round_quantity(rng.randint(*t.capacity) * CAPACITY_FACTOR[producer.kind]))
        roll = rng.random()
        stars = 0 if roll < 0.09 else 3 if roll < 0.69 else 4 if roll < 0.99 else 5
        certified_on = self.on - timedelta(days=rng.randrange(4 * 365)) if stars else None
        number_text = (
            f"{(certified_on.year % 100) * 100 + rng.randint(1, 99)}/QĐ-UBND-{number:05d}" if certified_on else ""
        )
        certifications = tuple(code for code, chance in t.certifications if rng.random() < chance)
        status_roll = rng.random()
        status = "draft" if status_roll < 0.015 else "archived" if status_roll < 0.02 else None
        commune_word = "xã" if self.districts[producer.district].kind == "huyện" else "phường"
        where = f"{commune_word} {producer.commune}, {producer.district}"
        if producer.village:
            where = f"làng nghề {producer.village.split(' (')[0]}, {where}"
        description = (
            f"{t.description} Sản phẩm của {producer.name} ({where}). "
            f"Nhận đơn từ {format_vnd(moq, symbol=False)} {t.unit}; "
            f"năng lực khoảng {format_vnd(capacity, symbol=False)} {t.unit} mỗi tháng."
        )
        group_2019 = t.group_2019
        return ProductRow(
            line=0,
            ref=f"HN-DEMO-{number:05d}",
            producer_name=producer.name,
            district=producer.district,
            product_name=name,
            ocop_group=GROUP_2019_TO_2023[group_2019] if group_2019 else "ornamental",
            producer_kind=producer.kind,
            commune=producer.commune,
            craft_village=producer.village,
            product_name_en=name_en,
            ocop_group_2019=group_2019,
            ocop_stars=stars,
            certificate_no=number_text,
            certified_on=certified_on,
            unit=t.unit,
            price_min_vnd=price_min,
            price_max_vnd=price_max,
            moq=moq,
            monthly_capacity=capacity,
            certifications=certifications,
            description=description,
            lat=producer.lat,
            lng=producer.lng,
            status=status,
        )

    # ------------------------------------------------------------------ sales points

    def sales_points(self, total: int, rows: list[ProductRow]) -> list[SalesPointRow]:
        rng = self.rng
        public = [r for r in rows if r.status in (None, "published")]
        if not public:
            return []
        by_district: dict[str, list[str]] = defaultdict(list)
        by_village: dict[str, list[str]] = defaultdict(list)
        for row in public:
            by_district[row.district].append(row.ref)
            if row.craft_village:
                by_village[row.craft_village].append(row.ref)
        kinds, weights = zip(*SALES_POINT_KINDS, strict=True)
        stations, rest_stops = list(STATIONS), list(REST_STOPS)
        points: list[SalesPointRow] = []
        names: set[str] = set()
        for number in range(1, max(2, round(total / 150)) + 1):
            kind = rng.choices(kinds, weights=weights)[0]
            fixed = None
            if kind == "station" and stations:
                fixed = stations.pop(rng.randrange(len(stations)))
            elif kind == "rest_stop" and rest_stops:
                fixed = rest_stops.pop(rng.randrange(len(rest_stops)))
            elif kind in ("station", "rest_stop"):
                kind = "shop"
            village = None
            if kind == "craft_village":
                village = self.villages.get(rng.choice(sorted(by_village))) if by_village else None
                if village is None:
                    kind = "shop"
            if fixed is not None:
                name, district, commune, address = fixed
            elif village is not None:
                district, commune = village.district, village.commune
                display = village.village.split(" (")[0]
                name = f"Điểm bán OCOP làng nghề {display}"
                address = f"Nhà trưng bày làng nghề {display}"
            else:
                district = self.pick_sales_district(kind in ("shop", "mall", "hotel"))
                commune = rng.choice(COMMUNES[district])
                address = f"Số {rng.randint(1, 299)}, {commune}"
                name = _sales_point_name(rng, kind, commune)
            base, n = name, 2
            while name in names:
                name, n = f"{base} ({n})", n + 1
            names.add(name)
            centre = village or self.districts[district]
            lat, lng = centre.lat + rng.uniform(-0.01, 0.01), centre.lng + rng.uniform(-0.01, 0.01)
            local = by_village.get(village.village, []) if village else by_district.get(district, [])
            want = rng.randint(8, 40)
            chosen = set(rng.sample(local, min(len(local), want * 6 // 10)))
            chosen.update(rng.sample([r.ref for r in public], min(len(public), want - len(chosen))))
            roll = rng.random()
            points.append(
                SalesPointRow(
                    line=0,
                    ref=f"HN-DEMO-SP-{number:03d}",
                    name=name,
                    kind=kind,
                    district=district,
                    commune=commune,
                    address=address,
                    lat=round(lat, 5),
                    lng=round(lng, 5),
                    opening_hours=OPENING_HOURS[kind],
                    phone=f"024 {rng.randint(3000, 3999)} {rng.randint(0, 9999):04d}",
                    status="approved" if roll < 0.85 else "pending" if roll < 0.95 else "suspended",
                    product_refs=tuple(sorted(chosen)),
                )
            )
        return points

    def pick_sales_district(self, urban: bool) -> str:
        names = sorted(self.districts)
        weights = [
            (3.0 if self.districts[n].kind == "quận" else 1.0) if urban else DISTRICT_WEIGHT[self.districts[n].kind]
            for n in names
        ]
        return self.rng.choices(names, weights=weights)[0]


def _sales_point_name(rng: random.Random, kind: str, commune: str) -> str:
    if kind == "mall":
        return f"Gian hàng OCOP siêu thị {rng.choice(SUPERMARKETS)} {commune}"
    if kind == "market":
        return f"Gian hàng OCOP chợ {commune}"
    if kind == "hotel":
        return f"Cửa hàng OCOP khách sạn {rng.choice(HOTELS)}"
    if kind == "post_office":
        return f"Bưu điện văn hóa {commune}"
    return rng.choice(
        (
            f"Điểm giới thiệu và bán sản phẩm OCOP {commune}",
            f"Cửa hàng OCOP {commune}",
            f"Cửa hàng đặc sản OCOP {commune}",
        )
    )


def _nice(amount: float) -> int:
    """Round a price the way shops do: to 1.000 ₫ under 100.000 ₫, then 5.000, 50.000, 500.000."""
    step = 1_000 if amount < 100_000 else 5_000 if amount < 1_000_000 else 50_000 if amount < 10_000_000 else 500_000
    return max(step, int(round(amount / step)) * step)


def _round_quantity(value: float) -> int:
    """Two significant digits: 1234 -> 1200, 57 -> 57, 3 -> 3."""
    value = max(1, int(value))
    if value < 100:
        return value
    magnitude = 10 ** (len(str(value)) - 2)
    return int(round(value / magnitude)) * magnitude


def generate(total: int, seed: int, on: date, samples: list[ProductRow]) -> DemoPlan:
    """Rows for a city of `total` products (the samples count towards it)."""
    return DemoGenerator(seed, on).plan(total, samples)
