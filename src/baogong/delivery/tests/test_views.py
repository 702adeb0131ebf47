"""Pass pages and the checkpoint page through the test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.models import PersonalDataAccess
from baogong.delivery.models import GreenPass, PassCheck
from baogong.delivery.qr import green_pass_payload_sign
from baogong.delivery.tests import factories
from baogong.regions.tests.factories import make_tree
from baogong.stock.tests.factories import stock_point

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    tree = make_tree()
    owner = factories.organisation(tree.county)
    depot = stock_point(tree.county)
    vehicle = factories.vehicle(owner, plate="浙A12345")
    driver = factories.driver(owner)
    green_pass = factories.green_pass(
        region=tree.county, vehicle=vehicle, driver=driver, destinations=[tree.compound], origin=depot
    )
    return {"tree": tree, "owner": owner, "depot": depot, "vehicle": vehicle, "driver": driver, "pass": green_pass}


def login(client, account):
    client.force_login(account)
    return client


def test_checkpoint_officer_scans_a_good_pass_and_then_stops_a_bad_one(client, world):
    officer = user(Role.CHECKPOINT, region=world["tree"].county)
    login(client, officer)
    url = reverse("delivery:checkpoint")

    page = client.get(url)
    assert page.status_code == 200
    assert b"js/checkpoint.js" in page.content
    assert b'name="payload_or_number"' in page.content

    payload = green_pass_payload_sign(green_pass=world["pass"])
    passed = client.post(
        url, {"payload_or_number": payload, "plate_seen": "浙A 12345", "route_destination": world["tree"].compound.pk}
    )
    assert passed.status_code == 200
    assert b'data-result="pass"' in passed.content

    stopped = client.post(
        url, {"payload_or_number": world["pass"].number, "plate_seen": "浙B00001"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert stopped.status_code == 200
    assert b'data-result="stop"' in stopped.content
    assert b"plate does not match the pass" in stopped.content

    assert list(PassCheck.objects.order_by("pk").values_list("officer_id", "result", "reasons")) == [
        (officer.pk, "pass", []),
        (officer.pk, "stop", ["plate_mismatch"]),
    ]


def test_checkpoint_form_without_plate_logs_nothing(client, world):
    login(client, user(Role.CHECKPOINT, region=world["tree"].county))

    response = client.post(reverse("delivery:checkpoint"), {"payload_or_number": world["pass"].number})

    assert response.status_code == 422
    assert PassCheck.objects.count() == 0


def test_checkpoint_page_is_not_there_for_other_roles(client, world):
    login(client, user(Role.VOLUNTEER, region=world["tree"].compound))

    assert client.get(reverse("delivery:checkpoint")).status_code == 404
    assert client.get(reverse("delivery:pass_list")).status_code == 404


def test_command_lists_issues_and_sees_a_pass_with_its_qr(client, world):
    commander = user(Role.COMMAND, region=world["tree"].county)
    login(client, commander)
    other_vehicle = factories.vehicle(world["owner"])
    start = timezone.localtime() + timedelta(hours=1)

    listing = client.get(reverse("delivery:pass_list"))
    issued = client.post(
        reverse("delivery:pass_new"),
        {
            "vehicle": other_vehicle.pk,
            "driver": world["driver"].pk,
            "valid_from": start.strftime("%Y-%m-%dT%H:%M"),
            "valid_until": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
            "origin_stock_point": world["depot"].pk,
            "destinations": [world["tree"].compound.pk],
        },
    )

    assert listing.status_code == 200
    assert world["pass"].number.encode() in listing.content
    new_pass = GreenPass.objects.get(vehicle=other_vehicle)
    assert issued.status_code == 302
    assert issued["Location"] == reverse("delivery:pass_detail", args=[new_pass.pk])
    assert new_pass.region_id == world["tree"].county.pk
    detail = client.get(issued["Location"])
    assert detail.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in detail.content
    assert b"139****5678" in detail.content
    assert PersonalDataAccess.objects.count() == 0
    unmasked = client.get(issued["Location"] + "?unmask=1")
    assert b"13912345678" in unmasked.content
    assert PersonalDataAccess.objects.filter(subject_type="driver", actor=commander).count() == 1


def test_issue_form_reports_overlap_next_to_the_vehicle(client, world):
    login(client, user(Role.COMMAND, region=world["tree"].county))
    start = timezone.localtime()

    response = client.post(
        reverse("delivery:pass_new"),
        {
            "vehicle": world["vehicle"].pk,
            "driver": world["driver"].pk,
            "valid_from": start.strftime("%Y-%m-%dT%H:%M"),
            "valid_until": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "origin_stock_point": world["depot"].pk,
            "destinations": [world["tree"].compound.pk],
        },
    )

    assert response.status_code == 409
    assert world["pass"].number.encode() in response.content
    assert GreenPass.objects.count() == 1


def test_revoke_from_the_detail_page(client, world):
    login(client, user(Role.SUBDISTRICT, region=world["tree"].subdistrict))

    response = client.post(reverse("delivery:pass_revoke", args=[world["pass"].pk]), {"reason": "driver quarantined"})

    assert response.status_code == 302
    world["pass"].refresh_from_db()
    assert (world["pass"].status, world["pass"].revoked_reason) == ("revoked", "driver quarantined")


def test_another_countys_pass_is_not_found_for_scoped_roles(client, world):
    elsewhere = make_tree()
    owner = factories.organisation(elsewhere.county)
    theirs = factories.green_pass(
        region=elsewhere.county,
        vehicle=factories.vehicle(owner),
        driver=factories.driver(owner),
        destinations=[elsewhere.compound],
        origin=stock_point(elsewhere.county),
    )
    department = factories.organisation(world["tree"].county, kind="department", enterprise_type="", name="交通运输局")
    accounts = [
        user(Role.COMMAND, region=world["tree"].county),
        user(Role.SUBDISTRICT, region=world["tree"].subdistrict),
        user(Role.DEPARTMENT, organisation=department),
    ]

    for account in accounts:
        login(client, account)
        assert client.get(reverse("delivery:pass_detail", args=[theirs.pk])).status_code == 404
        assert client.post(reverse("delivery:pass_revoke", args=[theirs.pk]), {"reason": "x"}).status_code == 404
        assert client.get(reverse("delivery:pass_detail", args=[world["pass"].pk])).status_code == 200
        listing = client.get(reverse("delivery:pass_list"))
        assert theirs.number.encode() not in listing.content
    theirs.refresh_from_db()
    assert theirs.status == "active"
