"""R12 (authorisation matrix) and R13 (personal data in responses and logs).

The routes under test are discovered, not listed by hand: every page URL with
an integer converter and every API path with an `{..._id}` parameter. Each
must have a row in ROUTES saying which kind of object its id names; a new
route without a row fails `test_every_id_route_is_in_the_matrix`.

Objects are placed at four locations of the test world: household A1a (the
resident's own), A1b (another household of the same compound), A2 (another
compound of community A) and B1 (community B). FOREIGN says, per role, which
locations lie outside its scope: every GET or POST there must answer 404,
exactly like an id that does not exist, and a POST must change nothing.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from baogong.accounts.models import Role, User
from baogong.config.api import api
from baogong.core.models import AuditLog, PersonalDataAccess
from baogong.core.tests.world import PERSONAL
from baogong.delivery.models import FollowUp, GateDiscrepancy, GateReceipt, GateReceiptLine, GreenPass
from baogong.delivery.tests.factories import driver, green_pass, organisation, vehicle
from baogong.enterprises.models import CompoundPairing
from baogong.orders.models import Order, PurchaseOrder, PurchaseOrderLine
from baogong.orders.tests.factories import DAY
from baogong.planning.day_plan import day_plan_solve
from baogong.planning.models import PlanRoster, PlanRoute
from baogong.planning.tests.day_plan_world import PlanWorld, build_plan_world
from baogong.regions.models import ZoneStatus

pytestmark = pytest.mark.django_db

LOCATIONS = ("A1a", "A1b", "A2", "B1")
LABEL = {"A1a": "own", "A1b": "other-household", "A2": "other-compound", "B1": "other-community"}

# Locations outside each role's scope (command sees the whole county).
FOREIGN: dict[str, frozenset[str]] = {
    Role.COMMAND: frozenset(),
    Role.DEPARTMENT: frozenset({"B1"}),
    Role.SUBDISTRICT: frozenset({"B1"}),
    Role.COMMUNITY: frozenset({"B1"}),
    Role.VOLUNTEER: frozenset({"A2", "B1"}),
    Role.CHECKPOINT: frozenset({"A1a", "A1b", "A2"}),
    Role.SUPPLIER: frozenset({"B1"}),
    Role.RESIDENT: frozenset({"A1b", "A2", "B1"}),
}
# Object kinds each role reads on ids inside its scope (GET answers 2xx);
# every other GET answers 404, or 403 on a role-gated page (see Route.roles).
GATE = "gate"  # a compound's gate check and board: the staff and volunteers of the compound
SHEETS = ("sheet_plan", "sheet_gate")  # a plan's sheet index and a compound's gate checklist sheet
VISIBLE: dict[str, frozenset[str]] = {
    Role.COMMAND: frozenset(
        {"region", "household", "point", "order", "purchase_order", "compound", "plan", "pass", GATE, "discrepancy"}
        | {*SHEETS, "sheet_route", "sheet_pick", "sheet_courier"}
    ),
    Role.DEPARTMENT: frozenset({"region", "household", "point", "order", "pass"}),
    Role.SUBDISTRICT: frozenset(
        {"region", "household", "point", "order", "purchase_order", "compound", "plan", "pass", GATE, "discrepancy"}
        | {*SHEETS, "sheet_route", "sheet_pick", "sheet_courier"}
    ),
    Role.COMMUNITY: frozenset(
        {"region", "household", "point", "order", "purchase_order", GATE, "discrepancy", *SHEETS, "sheet_courier"}
    ),
    # The volunteer account walks roster 1 of compound A1 in the plan of subdistrict S1.
    Role.VOLUNTEER: frozenset({"region", "household", "point", "order", GATE, "discrepancy", "sheet_plan"})
    | {"sheet_courier"},
    Role.CHECKPOINT: frozenset({"region"}),
    # Supermarket E supplies both subdistricts: its staff see its pick lists and the plans it has runs in.
    Role.SUPPLIER: frozenset({"point", "order", "purchase_order", "sheet_plan", "sheet_pick"}),
    Role.RESIDENT: frozenset({"household", "order"}),
}
# Exceptions to VISIBLE inside the scope: the stock point placed at A2 is
# community A's own point, which supermarket E's supplier does not operate.
HIDDEN: frozenset[tuple[str, str, str]] = frozenset({(Role.SUPPLIER, "point", "A2")})
DRIVER_PHONE = "13912345678"


@dataclass(frozen=True)
class Route:
    kind: str
    methods: tuple[str, ...]
    # Extra path arguments besides the id, and the body of a POST.
    extra: tuple[tuple[str, str], ...] = ()
    post: tuple[tuple[str, str], ...] = ()
    json: bool = False
    query: tuple[tuple[str, str], ...] = ()
    # Reveal points: a POST to the page, or the API with `unmasked=true`, shows
    # community and subdistrict staff personal data unmasked (audited).
    reveals: bool = False
    # Pages closed to a whole role answer 403 before any object is read, the
    # same for an id that does not exist, so the 403 reveals nothing.
    role_gate: bool = False
    # The roles a role-gated page is open to.
    roles: frozenset[str] | None = None


ROUTES: dict[str, Route] = {
    "regions:region_detail": Route("region", ("GET",)),
    "regions:zone_status_set": Route("region", ("POST",), post=(("status", "sealed"), ("reason", "probe"))),
    "regions:household_detail": Route("household", ("GET", "POST"), reveals=True),
    "stock:stock_point_detail": Route("point", ("GET",)),
    "orders:order_detail": Route("order", ("GET",)),
    "orders:order_cancel": Route("order", ("POST",), post=(("reason", "probe"),)),
    "orders:order_step": Route("order", ("POST",), extra=(("step", "pick"),)),
    "orders:proxy_order_new": Route(
        "household", ("GET", "POST"), role_gate=True, roles=frozenset({Role.COMMUNITY, Role.SUBDISTRICT})
    ),
    "orders:purchase_order_detail": Route("purchase_order", ("GET",)),
    "orders:purchase_order_confirm": Route("purchase_order", ("POST",)),
    "orders:purchase_order_pick_list": Route("purchase_order", ("GET",)),
    "orders:pairing_edit": Route(
        "compound",
        ("GET", "POST"),
        post=(("supermarket", "0"),),
        role_gate=True,
        roles=frozenset({Role.COMMAND, Role.SUBDISTRICT}),
    ),
    "planning:plan_detail": Route("plan", ("GET",)),
    "planning:plan_progress": Route("plan", ("GET",)),
    "planning:plan_route_sheets": Route("plan", ("GET",)),
    "planning:sheet_index": Route("sheet_plan", ("GET",)),
    "planning:sheet_routes_pdf": Route("sheet_plan", ("GET",), roles=frozenset({Role.COMMAND, Role.SUBDISTRICT})),
    "planning:sheet_route": Route("sheet_route", ("GET",)),
    "planning:sheet_pick": Route("sheet_pick", ("GET",)),
    "planning:sheet_gate": Route("sheet_gate", ("GET",)),
    "planning:sheet_courier": Route("sheet_courier", ("GET",)),
    "delivery:pass_detail": Route("pass", ("GET",)),
    "delivery:pass_revoke": Route("pass", ("POST",), post=(("reason", "probe"),)),
    "delivery:gate_checklist": Route(GATE, ("GET", "POST"), post=(("placed_at", "probe"),)),
    "delivery:compound_board": Route(GATE, ("GET",)),
    "delivery:discrepancy_photo": Route("discrepancy", ("GET",)),
    "/api/regions/{region_id}": Route("region", ("GET",), json=True),
    "/api/regions/{region_id}/zone-statuses": Route("region", ("GET",), json=True),
    "/api/households/{household_id}": Route(
        "household", ("GET",), json=True, query=(("unmasked", "true"),), reveals=True
    ),
    "/api/stock/points/{point_id}": Route("point", ("GET",), json=True),
    "/api/stock/points/{point_id}/balances": Route("point", ("GET",), json=True),
    "/api/stock/points/{point_id}/movements": Route("point", ("GET",), json=True),
    "/api/orders/{order_id}": Route("order", ("GET",), json=True),
    "/api/orders/{order_id}/cancel": Route("order", ("POST",), post=(("reason", "probe"),), json=True),
    "/api/purchase-orders/{purchase_order_id}": Route("purchase_order", ("GET",), json=True),
    "/api/purchase-orders/{purchase_order_id}/confirm": Route("purchase_order", ("POST",), json=True),
}

# The admin site is for staff accounts only (no role account is staff) and
# names objects by `<path:object_id>`; it is covered by the admin tests.
EXCLUDED_NAMESPACES = frozenset({"admin"})


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, set[str]]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            if inner.split(":")[0] in EXCLUDED_NAMESPACES or str(entry.pattern) == "api/":
                continue
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            converters = getattr(entry.pattern, "converters", {})
            ints = {name for name, converter in converters.items() if type(converter).__name__ == "IntConverter"}
            name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
            yield name, prefix + str(entry.pattern), ints


def id_routes() -> set[str]:
    pages = {name for name, _route, ints in _walk(get_resolver().url_patterns) if ints}
    paths = api.get_openapi_schema()["paths"]
    apis = {path for path in paths if re.search(r"\{\w+_id\}", path)}
    return pages | apis


def test_every_id_route_is_in_the_matrix(record_property):
    found = id_routes()

    assert sorted(found - ROUTES.keys()) == []
    assert sorted(ROUTES.keys() - found) == []
    record_property("figure", f"{len(found)}/{len(found)} id routes in the matrix")


# An object is named by one id, or by several path arguments (a sheet of a plan's route, trip and supermarket).
ObjectId = int | dict[str, int]


@dataclass
class MatrixWorld:
    pw: PlanWorld
    ids: dict[str, dict[str, ObjectId | None]]
    users: dict[str, User]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _discrepancy_at(compound_id: int, recorded_by: User) -> int | None:
    """A gate receipt with a damaged unit and its photo, written directly: the gate's own tests cover the service."""
    line = PurchaseOrderLine.objects.filter(purchase_order__compound_id=compound_id).order_by("pk").first()
    if line is None:
        return None
    receipt = GateReceipt.objects.create(
        compound_id=compound_id,
        delivery_date=DAY,
        received_by=recorded_by,
        received_at=timezone.now(),
        placed_at="probe",
    )
    receipt_line = GateReceiptLine.objects.create(
        receipt=receipt,
        purchase_order_line=line,
        expected_quantity=line.quantity,
        received_quantity=line.quantity,
        accepted_quantity=line.quantity - 1,
    )
    discrepancy = GateDiscrepancy(line=receipt_line, kind="damaged", quantity=1, photo_content_type="image/png")
    discrepancy.photo.save("probe.png", ContentFile(PNG), save=True)
    return discrepancy.pk


def _build() -> MatrixWorld:
    pw = build_plan_world()
    world = pw.ow.world
    plans = {
        key: day_plan_solve(actor=pw.command, delivery_date=DAY, area=world.regions[area], time_limit_s=0.3)
        for key, area in (("A1a", "S1"), ("B1", "S2"))
    }
    passes = {}
    for key, community, compound, point in (("A1a", "A", "A1", "A"), ("B1", "B", "B1", "B")):
        owner = organisation(world.regions[community])
        passes[key] = green_pass(
            region=world.regions[community],
            vehicle=vehicle(owner),
            driver=driver(owner, phone=DRIVER_PHONE),
            destinations=[world.regions[compound]],
            origin=world.points[point],
        )
    compounds = {"A1a": "A1", "A2": "A2", "B1": "B1"}
    points = {"A1a": "S", "A2": "A", "B1": "B"}

    def per_location(pick: Callable[[str], ObjectId | None]) -> dict[str, ObjectId | None]:
        return {key: pick(key) for key in LOCATIONS}

    purchase_orders = {po.compound_id: po.pk for po in PurchaseOrder.objects.all()}
    compound_of = {k: world.regions[compounds[k]].pk for k in compounds}

    # Subdistrict S2 has no vehicle of its own; the county's plan sends one to B1.
    routed = {"A1a": plans["A1a"], "B1": day_plan_solve(actor=pw.command, delivery_date=DAY, time_limit_s=0.3)}

    def route_of(k: str) -> PlanRoute | None:
        if k not in routed:
            return None
        return PlanRoute.objects.filter(plan=routed[k], stops__compound_id=compound_of[k]).order_by("pk").first()

    def sheet_route(k: str) -> dict[str, int] | None:
        route = route_of(k)
        return None if route is None else {"plan_id": routed[k].pk, "route_id": route.pk}

    def sheet_pick(k: str) -> dict[str, int] | None:
        route = route_of(k)
        if route is None:
            return None
        trip = route.stops.filter(compound_id=compound_of[k]).values_list("trip", flat=True).first()
        supermarket = PurchaseOrder.objects.get(compound_id=compound_of[k]).supermarket_id
        return {"plan_id": routed[k].pk, "route_id": route.pk, "trip": trip, "supermarket_id": supermarket}

    def sheet_gate(k: str) -> dict[str, int] | None:
        return {"plan_id": plans[k].pk, "compound_id": compound_of[k]} if k in plans else None

    def sheet_courier(k: str) -> dict[str, int] | None:
        if k not in plans:
            return None
        roster = PlanRoster.objects.filter(plan=plans[k], compound_id=compound_of[k]).order_by("number").first()
        return None if roster is None else {"plan_id": plans[k].pk, "roster_id": roster.pk}

    ids: dict[str, dict[str, ObjectId | None]] = {
        "region": per_location(lambda k: world.regions[compounds[k]].pk if k in compounds else None),
        "compound": per_location(lambda k: world.regions[compounds[k]].pk if k in compounds else None),
        "household": per_location(lambda k: world.households[k].pk),
        "point": per_location(lambda k: world.points[points[k]].pk if k in points else None),
        "order": per_location(
            lambda k: Order.objects.filter(household=world.households[k]).values_list("pk", flat=True).first()
        ),
        "purchase_order": per_location(
            lambda k: purchase_orders.get(world.regions[compounds[k]].pk) if k in compounds else None
        ),
        "plan": per_location(lambda k: plans[k].pk if k in plans else None),
        "pass": per_location(lambda k: passes[k].pk if k in passes else None),
        GATE: per_location(lambda k: compound_of.get(k)),
        "discrepancy": per_location(
            lambda k: _discrepancy_at(compound_of[k], pw.command) if k in ("A1a", "B1") else None
        ),
        "sheet_plan": per_location(lambda k: plans[k].pk if k in plans else None),
        "sheet_route": per_location(sheet_route),
        "sheet_pick": per_location(sheet_pick),
        "sheet_gate": per_location(sheet_gate),
        "sheet_courier": per_location(sheet_courier),
    }
    return MatrixWorld(pw=pw, ids=ids, users=dict(world.users))


def _url(key: str, route: Route, object_id: ObjectId) -> str:
    if isinstance(object_id, dict):
        return reverse(key, kwargs={**object_id, **dict(route.extra)})
    if key.startswith("/"):
        return re.sub(r"\{\w+_id\}", str(object_id), key)
    return reverse(key, kwargs={_id_parameter(key): object_id, **dict(route.extra)})


def _missing(object_id: ObjectId) -> ObjectId:
    return {name: MISSING_ID for name in object_id} if isinstance(object_id, dict) else MISSING_ID


def _id_parameter(name: str) -> str:
    for found, _route, ints in _walk(get_resolver().url_patterns):
        if found == name:
            return next(iter(ints))
    raise AssertionError(name)


def _state() -> tuple[Any, ...]:
    return (
        AuditLog.objects.count(),
        PersonalDataAccess.objects.count(),
        ZoneStatus.objects.count(),
        Order.objects.count(),
        sorted(Order.objects.values_list("pk", "status")),
        sorted(PurchaseOrder.objects.values_list("pk", "status")),
        sorted(GreenPass.objects.values_list("pk", "status")),
        sorted(CompoundPairing.objects.values_list("pk", "supermarket_id", "backup_id")),
        GateReceipt.objects.count(),
        FollowUp.objects.count(),
    )


def _call(client: Client, method: str, key: str, route: Route, url: str) -> Any:
    if method == "GET":
        return client.get(url, dict(route.query))
    if route.json:
        body: dict[str, Any] = dict(route.post)
        if key.endswith("/confirm"):
            body = {"shortages": []}
        return client.post(url, body, content_type="application/json")
    return client.post(url, dict(route.post))


MISSING_ID = 999_999
# A number counts when no ASCII letter or digit touches it: random tokens on the pages (the order
# form's uuid hex, CSRF tokens) hold runs of digits that are no one's phone or ID number.
PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")


def _text(content: bytes) -> str:
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist() if name.endswith(".xml")
            )
    return content.decode("utf-8", "replace")


def _leaks(text: str, allowed: set[str]) -> list[str]:
    return [hit for hit in PHONE.findall(text) + ID_NUMBER.findall(text) if hit not in allowed]


def test_the_scanner_finds_numbers_in_text_but_not_inside_random_tokens():
    text = (
        '<p>身份证 110101199001011234，电话13912345678。</p>"phone": "15800001111", id 11010119900101123X;'
        ' <input name="token" value="form-ab244798472992434895cd"> csrf a13912345678b'
    )
    assert _leaks(text, set()) == ["13912345678", "15800001111", "110101199001011234", "11010119900101123X"]


def _expected_2xx(role: str, route: Route, location: str) -> bool:
    if location in FOREIGN[role] or (role, route.kind, location) in HIDDEN:
        return False
    return route.kind in VISIBLE[role] and (route.roles is None or role in route.roles)


def test_matrix_cross_scope_answers_404_and_bodies_and_logs_hold_no_personal_data(
    record_property, caplog, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    caplog.set_level(logging.DEBUG)
    mw = _build()
    # Every kind of object exists in the resident's own compound and in the other community.
    assert [kind for kind, at in mw.ids.items() if at["A1a"] is None or at["B1"] is None] == []
    fixture_values = {v for _name, phone, id_number in PERSONAL.values() for v in (phone, id_number)}
    fixture_values.add(DRIVER_PHONE)
    unexpected: list[str] = []
    leaks: list[str] = []
    outcomes: Counter[str] = Counter()
    revealed: dict[str, set[str]] = {Role.COMMUNITY: set(), Role.SUBDISTRICT: set()}
    bodies = 0
    for role, account in mw.users.items():
        client = Client()
        client.force_login(account)
        client.cookies["django_language"] = "en"
        own_household = {PERSONAL["A1a"][1], PERSONAL["A1a"][2]} if role == Role.RESIDENT else set()
        for key, route, location, method in (
            (k, r, loc, m) for k, r in ROUTES.items() for loc in LOCATIONS for m in r.methods
        ):
            object_id = mw.ids[route.kind][location]
            foreign = location in FOREIGN[role]
            # Own-scope writes are the business of the apps' own tests; the reveal POST only reads.
            if object_id is None or (method == "POST" and not foreign and not route.reveals):
                continue
            url = _url(key, route, object_id)
            where = f"{role} {method} {url} ({LABEL[location]})"
            before = _state() if method == "POST" else None
            response = _call(client, method, key, route, url)
            status = response.status_code
            if _expected_2xx(role, route, location):
                outcome = "2xx" if 200 <= status < 300 else f"expected 2xx, got {status}"
            elif status == 404:
                outcome = "404"
            elif status == 403 and route.roles is not None and role not in route.roles:
                missing = _call(client, method, key, route, _url(key, route, _missing(object_id))).status_code
                outcome = "role-gated 403" if missing == 403 else f"403 but {missing} for a missing id"
            else:
                outcome = f"unexpected {status}, expected 404"
            outcomes[outcome] += 1
            outcomes["cross-scope" if foreign else "in-scope"] += 1
            if outcome not in ("2xx", "404", "role-gated 403"):
                unexpected.append(f"{where}: {outcome}")
            if before is not None and foreign and _state() != before:
                unexpected.append(f"{where}: changed data")
            content = b"".join(response.streaming_content) if response.streaming else response.content
            if role in (Role.COMMUNITY, Role.SUBDISTRICT) and route.reveals and (method == "POST" or route.json):
                # Allowed to see these; collected to prove the scan catches the fixture values.
                revealed[role].update(_leaks(_text(content), set()))
                continue
            bodies += 1
            for hit in _leaks(_text(content), own_household):
                leaks.append(f"{where}: {hit} ({'fixture' if hit in fixture_values else 'pattern'})")
    log_hits = _leaks(caplog.text, set())

    assert unexpected == []
    assert leaks == []
    assert log_hits == []
    in_s1 = {value for key in ("A1a", "A1b", "A2") for value in PERSONAL[key][1:]}
    assert revealed == {Role.COMMUNITY: in_s1, Role.SUBDISTRICT: in_s1}
    record_property(
        "figure",
        f"{outcomes['in-scope'] + outcomes['cross-scope']} calls ({outcomes['cross-scope']} cross-scope) "
        f"over 8 roles x {len(ROUTES)} id routes: 0 unexpected 2xx; {outcomes['2xx']} 2xx as the matrix says, "
        f"{outcomes['404']} 404, {outcomes['role-gated 403']} id-independent role 403",
    )
    record_property(
        "figure",
        f"{bodies} bodies (HTML/JSON/XLSX) + {len(caplog.records)} log records: 0 unmasked phone/ID numbers",
    )
