"""The destruction register is append-only on SQLite too (the embedded stack): 0002 added
the PostgreSQL trigger; these triggers make SQLite refuse UPDATE and DELETE the same way."""

from django.db import migrations

MESSAGE = "销毁清册永久保存，不得修改或删除 (destruction register is append-only)"
TABLE = "retention_destructionregisterentry"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("UPDATE", "DELETE"):
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS retention_register_no_{event.lower()} "
            f"BEFORE {event} ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for event in ("update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS retention_register_no_{event}")


class Migration(migrations.Migration):
    dependencies = [("retention", "0002_register_immutable_and_seed_policies")]
    operations = [migrations.RunPython(forwards, backwards)]
