import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from baogong.accounts.models import Role
from baogong.accounts.tests.factories import user
from baogong.core.errors import RowError
from baogong.core.models import AuditLog
from baogong.regions.models import Household, Region
from baogong.regions.roster import COLUMNS
from baogong.regions.tests.factories import make_tree
from baogong.regions.tests.roster_files import roster_file, roster_row

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("regions:roster_import")
TEMPLATE_URL = reverse("regions:roster_template")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client(client):
    # The site defaults to Chinese; these tests read the English messages.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def tree():
    return make_tree()


@pytest.fixture
def worker_client(client, tree):
    client.force_login(user(Role.COMMUNITY, region=tree.community))
    return client


def upload(data: bytes, name: str = "roster.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=XLSX)


def state():
    return (Household.objects.count(), Region.objects.count(), AuditLog.objects.count())


ROWS = [
    roster_row("1号楼", "1单元", "101", "王建国", 3, "13812345678"),
    roster_row("1号楼", "1单元", "102", "李秀英", 2, "13812345679"),
    roster_row("2号楼", "1单元", "101", "张伟", 1, "13812345670"),
]


def test_the_form_lists_only_compounds_in_the_workers_area(worker_client, tree):
    other = make_tree(tree.county)

    response = worker_client.get(IMPORT_URL)

    assert response.status_code == 200
    assert [choice[0] for choice in response.context["form"].fields["compound"].widget.choices] == [tree.compound.pk]
    page = response.content.decode()
    assert f'<option value="{tree.compound.pk}">{tree.community.name} · {tree.compound.name}</option>' in page
    assert other.compound.name not in page
    assert 'enctype="multipart/form-data"' in page
    assert TEMPLATE_URL in page


def test_uploading_a_valid_roster_imports_it_and_shows_the_counts(worker_client, tree):
    response = worker_client.post(IMPORT_URL, {"compound": tree.compound.pk, "file": upload(roster_file(ROWS))})

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert response.context["rejection"] is None
    assert Household.objects.filter(compound=tree.compound).count() == 3
    page = response.content.decode()
    assert '<dd id="count-created">3</dd>' in page
    assert '<dd id="count-unchanged">0</dd>' in page

    again = worker_client.post(IMPORT_URL, {"compound": tree.compound.pk, "file": upload(roster_file(ROWS))})

    assert '<dd id="count-created">0</dd>' in again.content.decode()
    assert '<dd id="count-unchanged">3</dd>' in again.content.decode()
    assert Household.objects.count() == 3


def test_uploading_a_roster_with_errors_lists_them_and_imports_nothing(worker_client, tree):
    rows = [*ROWS, roster_row(room="103", phone="555"), roster_row(room="104", size=40)]
    before = state()

    response = worker_client.post(IMPORT_URL, {"compound": tree.compound.pk, "file": upload(roster_file(rows))})

    assert response.status_code == 422
    assert response.context["result"] is None
    assert response.context["rejection"].rows == [
        RowError(5, "电话 Phone", "not an 11-digit mobile number or a landline number (such as 0571-87654321)"),
        RowError(6, "人数 Size", "not a whole number of people from 1 to 30"),
    ]
    page = response.content.decode()
    assert "<h2>Nothing was imported</h2>" in page
    assert "<p>The file has 2 errors. Nothing was imported.</p>" in page
    assert "<tr><td>5</td><td>电话 Phone</td><td>not an 11-digit mobile number" in page
    assert "<tr><td>6</td><td>人数 Size</td><td>not a whole number of people from 1 to 30</td></tr>" in page
    assert state() == before


def test_uploading_a_file_that_is_not_a_workbook_says_so(worker_client, tree):
    before = state()

    response = worker_client.post(
        IMPORT_URL, {"compound": tree.compound.pk, "file": upload(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))}
    )

    assert response.status_code == 422
    assert "This is an old-style .xls file or a password-protected workbook." in response.content.decode()
    assert state() == before


def test_uploading_to_a_compound_of_another_community_is_not_found(worker_client, tree):
    other = make_tree(tree.county)
    before = state()

    response = worker_client.post(IMPORT_URL, {"compound": other.compound.pk, "file": upload(roster_file(ROWS))})

    assert response.status_code == 404
    assert state() == before


def test_a_missing_file_is_a_form_error(worker_client, tree):
    response = worker_client.post(IMPORT_URL, {"compound": tree.compound.pk})

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["file"]


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.CHECKPOINT])
def test_other_roles_are_refused(client, tree, role):
    client.force_login(user(role, region=tree.community))
    before = state()

    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(TEMPLATE_URL).status_code == 403
    response = client.post(IMPORT_URL, {"compound": tree.compound.pk, "file": upload(roster_file(ROWS))})
    assert response.status_code == 403
    assert state() == before


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(IMPORT_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={IMPORT_URL}"


def test_the_template_downloads_as_a_workbook(worker_client):
    response = worker_client.get(TEMPLATE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == [column.title for column in COLUMNS]
