"""On PostgreSQL: refuse TRUNCATE of the audit tables, and let a chain head only move forward.

The test suite switches the TRUNCATE triggers off in its own database (tests/conftest.py), because
Django empties tables with TRUNCATE between transactional tests.
"""

from django.db import migrations

TRUNCATE_TABLES = ["audit_auditevent", "audit_accesslog", "audit_auditchainhead"]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION weerbaar_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Auditgegevens in % kunnen niet worden gewijzigd of verwijderd.', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION weerbaar_audit_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.chain <> OLD.chain OR NEW.last_seq < OLD.last_seq THEN
        RAISE EXCEPTION 'Auditgegevens in % kunnen niet worden gewijzigd of verwijderd.', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    for table in TRUNCATE_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION weerbaar_audit_no_truncate();"
        )
    schema_editor.execute(
        "CREATE TRIGGER audit_auditchainhead_forward_only BEFORE UPDATE OR DELETE ON audit_auditchainhead "
        "FOR EACH ROW EXECUTE FUNCTION weerbaar_audit_head_forward_only();"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS audit_auditchainhead_forward_only ON audit_auditchainhead;")
    for table in TRUNCATE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS weerbaar_audit_head_forward_only();")
    schema_editor.execute("DROP FUNCTION IF EXISTS weerbaar_audit_no_truncate();")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(create, drop)]
