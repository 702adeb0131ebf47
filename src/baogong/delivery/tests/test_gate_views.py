"""Gate, board, follow-up, arrival, disinfection and capacity-pool pages through the test client."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from baogong.accounts.models import Role
from baogong.core.models import AuditLog
from baogong.delivery.models import FollowUp, GateArrival, GateReceipt, VehicleDisinfection
from baogong.delivery.tests import factories
from baogong.delivery.tests.gate_world import build_gate_world
from baogong.orders.models import Order, OrderLine, PurchaseOrderLine
from baogong.orders.tests.factories import DAY

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def gw(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return build_gate_world()


def gate_url(gw, compound=None):
    return f"{reverse('delivery:gate_checklist', args=[(compound or gw.compound).pk])}?date={DAY}"


def post_body(gw, *, rice="5", veg="1", **extra):
    rice_id, veg_id = gw.po_line("rice").pk, gw.po_line("veg").pk
    body = {
        f"received_{rice_id}": rice,
        f"damaged_{rice_id}": "0",
        f"wrong_{rice_id}": "0",
        f"note_{rice_id}": "",
        f"received_{veg_id}": veg,
        f"damaged_{veg_id}": "0",
        f"wrong_{veg_id}": "0",
        f"note_{veg_id}": "",
        "placed_at": "北门货架2号",
        "note": "",
    }
    body.update(extra)
    return body


def state():
    return (
        GateReceipt.objects.count(),
        FollowUp.objects.count(),
        AuditLog.objects.count(),
        sorted(Order.objects.values_list("pk", "status", "amount_due")),
        sorted(OrderLine.objects.values_list("pk", "confirmed_quantity")),
        sorted(PurchaseOrderLine.objects.values_list("pk", "confirmed_quantity", "short_reason")),
    )


def test_volunteer_checks_the_goods_on_the_phone_page_with_a_photo(client, gw):
    client.force_login(gw.volunteer)
    client.cookies["django_language"] = "en"
    rice_id = gw.po_line("rice").pk

    page = client.get(gate_url(gw))
    body = post_body(gw, rice="4", **{f"note_{rice_id}": "一袋不见了"})
    body[f"photo_{rice_id}"] = SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")
    done = client.post(gate_url(gw), body)

    assert page.status_code == 200
    assert f'name="received_{rice_id}"' in page.content.decode()
    assert done.status_code == 302
    receipt = GateReceipt.objects.get()
    assert (receipt.placed_at, receipt.received_by_id) == ("北门货架2号", gw.volunteer.pk)
    assert Order.objects.get(pk=gw.orders["A1c"].pk).amount_due == Decimal("55.50")
    follow_up = FollowUp.objects.get()
    after = client.get(gate_url(gw)).content.decode()
    assert "Checked and handed over" in after
    assert "北门货架2号" in after
    photo = client.get(reverse("delivery:discrepancy_photo", args=[follow_up.discrepancy_id]))
    assert (photo.status_code, photo["Content-Type"], photo.content) == (200, "image/jpeg", JPEG)
    listing = client.get(reverse("delivery:follow_up_list")).content.decode()
    assert f'data-follow-up="{follow_up.pk}"' in listing
    assert "一袋不见了" in listing


def test_bad_count_on_the_page_shows_the_line_error_and_changes_nothing(client, gw):
    client.force_login(gw.volunteer)
    client.cookies["django_language"] = "en"
    before = state()

    over = client.post(gate_url(gw), post_body(gw, rice="9"))
    negative = client.post(gate_url(gw), post_body(gw, rice="-1"))
    no_place = client.post(gate_url(gw), post_body(gw, placed_at=""))

    assert (over.status_code, negative.status_code, no_place.status_code) == (422, 422, 422)
    assert "Enter at most 5." in over.content.decode()
    assert "Enter 0 or more." in negative.content.decode()
    assert state() == before


def test_a_second_completion_answers_409_and_changes_nothing(client, gw):
    client.force_login(gw.volunteer)
    client.post(gate_url(gw), post_body(gw, rice="4"))
    before = state()

    again = client.post(gate_url(gw), post_body(gw, rice="5"))

    assert again.status_code == 409
    assert state() == before


def test_gate_pages_of_another_compound_answer_404_and_change_nothing(client, gw):
    client.force_login(gw.other_volunteer)
    before = state()

    responses = [
        client.get(gate_url(gw)),
        client.post(gate_url(gw), post_body(gw)),
        client.get(reverse("delivery:compound_board", args=[gw.compound.pk])),
        client.get(reverse("delivery:command_view")),
        client.get(reverse("delivery:vehicle_list")),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert state() == before


def test_photos_are_served_only_inside_the_scope(client, gw):
    client.force_login(gw.volunteer)
    rice_id = gw.po_line("rice").pk
    body = post_body(gw, rice="4")
    body[f"photo_{rice_id}"] = SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")
    client.post(gate_url(gw), body)
    url = reverse("delivery:discrepancy_photo", args=[FollowUp.objects.get().discrepancy_id])

    client.force_login(gw.other_volunteer)
    assert client.get(url).status_code == 404
    client.force_login(gw.ow.supplier)
    assert client.get(url).status_code == 404


def test_board_page_refreshes_its_fragment_with_htmx(client, gw):
    client.force_login(gw.volunteer)
    url = f"{reverse('delivery:compound_board', args=[gw.compound.pk])}?date={DAY}"

    page = client.get(url).content.decode()
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 60s"' in page
    assert "<html" in page
    assert fragment.lstrip().startswith('<section id="board"')
    assert "<html" not in fragment
    assert re.search(r'data-figure="pending">3<', fragment)


def test_arrival_page_records_an_arrival_by_plate(client, gw):
    client.force_login(gw.volunteer)
    client.cookies["django_language"] = "en"
    url = reverse("delivery:gate_arrival_new")

    bad = client.post(url, {"compound": gw.compound.pk, "plate": "浙Z00000"})
    foreign = client.post(url, {"compound": gw.ow.world.regions["A2"].pk, "plate": "浙A·G1001"})
    good = client.post(url, {"compound": gw.compound.pk, "plate": "浙AG1001", "note": "司机未下车"})

    assert (bad.status_code, foreign.status_code, good.status_code) == (422, 422, 302)
    assert "No vehicle of the transport pool has this plate." in bad.content.decode()
    arrival = GateArrival.objects.get()
    assert (arrival.vehicle_id, arrival.compound_id, arrival.note) == (gw.vehicle.pk, gw.compound.pk, "司机未下车")
    assert f'data-arrival="{arrival.pk}"' in client.get(url).content.decode()


def test_disinfection_page_records_one_row_per_disinfection(client, gw):
    client.force_login(gw.volunteer)
    url = reverse("delivery:disinfection_new")

    missing = client.post(url, {"plate": "浙AG1001", "place": gw.compound.pk, "agent": ""})
    foreign = client.post(url, {"plate": "浙AG1001", "place": gw.ow.world.regions["B1"].pk, "agent": "含氯消毒液"})
    good = client.post(url, {"plate": "浙AG1001", "place": gw.compound.pk, "agent": "含氯消毒液"})

    assert (missing.status_code, foreign.status_code, good.status_code) == (422, 422, 302)
    assert list(VehicleDisinfection.objects.values_list("vehicle_id", "place_id", "agent", "recorded_by_id")) == [
        (gw.vehicle.pk, gw.compound.pk, "含氯消毒液", gw.volunteer.pk)
    ]


def test_capacity_pool_lists_mask_driver_phones(client, gw):
    owner = factories.organisation(gw.ow.world.regions["S1"])
    factories.driver(owner, name="李师傅", phone="13912345678")
    client.force_login(gw.ow.world.users[Role.COMMAND])

    vehicles = client.get(reverse("delivery:vehicle_list")).content.decode()
    drivers = client.get(reverse("delivery:driver_list")).content.decode()

    assert "浙A·G1001" in vehicles
    assert "李师傅" in drivers
    assert "13912345678" not in drivers
    assert "139****5678" in drivers


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("role", "name", "needs_compound"),
    [
        (Role.VOLUNTEER, "delivery:gate_checklist", True),
        (Role.VOLUNTEER, "delivery:compound_board", True),
        (Role.VOLUNTEER, "delivery:follow_up_list", False),
        (Role.VOLUNTEER, "delivery:gate_arrival_new", False),
        (Role.VOLUNTEER, "delivery:disinfection_new", False),
        (Role.COMMUNITY, "delivery:command_view", False),
        (Role.DEPARTMENT, "delivery:disinfection_new", False),
        (Role.DEPARTMENT, "delivery:vehicle_list", False),
        (Role.SUBDISTRICT, "delivery:driver_list", False),
    ],
)
def test_pages_render_in_both_languages(client, gw, language, role, name, needs_compound):
    client.force_login(gw.ow.world.users[role])
    client.cookies["django_language"] = language
    url = reverse(name, args=[gw.compound.pk] if needs_compound else [])

    response = client.get(url)

    assert response.status_code == 200
    assert f'lang="{language}"' in response.content.decode()


def test_nav_links_follow_the_role(client, gw):
    client.force_login(gw.volunteer)
    volunteer_nav = client.get(reverse("delivery:follow_up_list")).content.decode().split("</nav>")[0]
    client.force_login(gw.ow.world.users[Role.DEPARTMENT])
    department_nav = client.get(reverse("delivery:vehicle_list")).content.decode().split("</nav>")[0]

    assert reverse("delivery:compound_board", args=[gw.compound.pk]) in volunteer_nav
    assert reverse("delivery:gate_arrival_new") in volunteer_nav
    assert reverse("delivery:vehicle_list") not in volunteer_nav
    assert reverse("delivery:vehicle_list") in department_nav
    assert reverse("delivery:command_view") not in department_nav


def test_a_driver_licence_number_is_masked_unless_dispatch_asks(gw):
    from baogong.core.models import PersonalDataAccess
    from baogong.core.scoping import scope_of
    from baogong.delivery.selectors import driver_present

    owner = factories.organisation(gw.ow.world.regions["S1"])
    person = factories.driver(owner, licence_number="330102199001011234")
    command = gw.ow.world.users[Role.COMMAND]

    masked = driver_present(driver=person, scope=scope_of(command), actor=command)
    shown = driver_present(driver=person, scope=scope_of(command), actor=command, unmasked=True)

    assert (masked.licence_number, masked.phone) == ("3****************4", "139****5678")
    assert (shown.licence_number, shown.phone) == ("330102199001011234", "13912345678")
    assert list(PersonalDataAccess.objects.values_list("fields", flat=True)) == [["phone", "licence_number"]]
