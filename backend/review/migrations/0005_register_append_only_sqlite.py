"""The access register (查阅登记簿) is append-only on SQLite too (the embedded default):
0002 added the PostgreSQL trigger; these triggers make SQLite refuse UPDATE and DELETE."""

from django.db import migrations

TABLE = "review_accessregisterentry"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("UPDATE", "DELETE"):
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS review_register_no_{event.lower()} "
            f"BEFORE {event} ON {TABLE} BEGIN "
            "SELECT RAISE(ABORT, 'the access register (查阅登记簿) is append-only'); END;"
        )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS review_register_no_{event}")


class Migration(migrations.Migration):
    dependencies = [("review", "0004_grant_revocation")]
    operations = [migrations.RunPython(forwards, backwards)]
