"""The audit log is append-only on SQLite too (the embedded default): 0002 added the
PostgreSQL trigger; these triggers make SQLite refuse UPDATE and DELETE the same way."""

from django.db import migrations

TABLE = "audit_auditevent"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("UPDATE", "DELETE"):
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{event.lower()} "
            f"BEFORE {event} ON {TABLE} BEGIN "
            f"SELECT RAISE(ABORT, 'audit events are append-only ({event} refused)'); END;"
        )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{event}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_data_containment_index")]
    operations = [migrations.RunPython(forwards, backwards)]
