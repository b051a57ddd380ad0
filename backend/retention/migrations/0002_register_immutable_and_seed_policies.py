from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION retention_register_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '销毁清册永久保存，不得修改或删除 (destruction register is append-only)';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER retention_register_append_only
    BEFORE UPDATE OR DELETE ON retention_destructionregisterentry
    FOR EACH ROW EXECUTE FUNCTION retention_register_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS retention_register_append_only ON retention_destructionregisterentry;
DROP FUNCTION IF EXISTS retention_register_refuse_change();
"""

POLICIES = [
    ("default", "未关联执法结论的音像记录", 184, False),
    ("evidence", "作为证据使用的音像记录", None, True),
    ("obstruction", "反映妨碍执法的音像记录", None, True),
    ("major_incident", "重大事件音像记录", None, True),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)
    policy = apps.get_model("retention", "RetentionPolicy")
    for category, name, days, permanent in POLICIES:
        policy.objects.get_or_create(
            category=category, defaults={"name": name, "period_days": days, "permanent": permanent}
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
