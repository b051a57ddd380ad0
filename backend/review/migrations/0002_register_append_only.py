"""The access register is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE.

TRUNCATE is left to the table owner (test databases are flushed with it)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION review_register_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access register (查阅登记簿) is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER review_register_no_update_delete
    BEFORE UPDATE OR DELETE ON review_accessregisterentry
    FOR EACH ROW EXECUTE FUNCTION review_register_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS review_register_no_update_delete ON review_accessregisterentry;
DROP FUNCTION IF EXISTS review_register_append_only();
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
