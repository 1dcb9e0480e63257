"""On PostgreSQL, refuse UPDATE and DELETE on audit data, whoever asks.

A database administrator can still drop the triggers; the HMAC chain (verify_audit_chain) is what
detects that. TRUNCATE is left alone so that test databases can be emptied between tests.
"""

from django.db import migrations

TABLES = ["audit_auditevent", "audit_accesslog"]

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION weerbaar_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Auditgegevens in % kunnen niet worden gewijzigd of verwijderd.', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION weerbaar_audit_append_only();"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS weerbaar_audit_append_only();")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
