"""A GIN index for containment lookups on audit data (PostgreSQL only).

The recording page's chain of custody finds events that mention a recording inside
`data` (`data @> {"recording_id": …}`, `{"recordings": […]}`); without this index each
page view scans the whole audit log. SQLite (the embedded default) has no GIN indexes and
small logs, so nothing is done there.
"""

from django.db import migrations

INDEX = "audit_auditevent_data_path_ops"


def create_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON audit_auditevent "
            "USING gin (data jsonb_path_ops)"
        )


def drop_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [migrations.RunPython(create_index, drop_index)]
