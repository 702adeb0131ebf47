import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from baogong.core.append_only import APPEND_ONLY_TABLES
from baogong.core.models import AuditLog
from baogong.core.services import audit_record


def trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT event_object_table FROM information_schema.triggers")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_every_append_only_table_has_its_triggers():
    assert trigger_names() >= set(APPEND_ONLY_TABLES)


@pytest.mark.django_db(transaction=True)
def test_flush_wipes_append_only_tables_and_restores_the_triggers():
    with transaction.atomic():
        audit_record(actor=None, action="test.flush", target_type="test")
    call_command("flush", interactive=False, verbosity=0)
    assert AuditLog.objects.count() == 0
    assert trigger_names() >= set(APPEND_ONLY_TABLES)
    with transaction.atomic():
        audit_record(actor=None, action="test.after", target_type="test")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.all().delete()
    assert AuditLog.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_audit_record_outside_a_transaction_is_a_programming_error():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=None, action="test.loose", target_type="test")
    assert AuditLog.objects.count() == 0
