"""Moves every django-otp TOTPDevice (its table, if an earlier version made one) into an
AuthenticatorApp, its secret encrypted under a data key of its own, and drops the old table:
django-otp's TOTP plugin is no longer installed. Sessions verified with an old device log in
again (the device they name is gone). Read in SQL: the plugin's models are gone.

The secrets themselves stay the same (nobody has to set up their app again), so a backup made
before this migration still holds them in plain hex: where such backups may have leaked, wipe
the second factors on the beheer pages so that everyone sets up a new secret.

Going back does not write the secrets back in plain text: the apps stay where they are."""

from datetime import UTC

from django.db import migrations
from django.utils import timezone

OLD_TABLE = "otp_totp_totpdevice"
COPIED = (
    "user_id",
    "name",
    "confirmed",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
)
MOMENTS = ("throttling_failure_timestamp", "created_at", "last_used_at")


def _aware(value):
    # SQLite hands back the stored UTC moment without a zone; PostgreSQL with one.
    return value.replace(tzinfo=UTC) if value is not None and timezone.is_naive(value) else value


def encrypt_the_secrets(apps, schema_editor):
    from privacy.crypto import data_key_create, key_in_use

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    quote = connection.ops.quote_name
    columns = ("key", *COPIED)
    with connection.cursor() as cursor:
        # Names from the constants above, quoted by the backend; no value is put in the text.
        select = f"SELECT {', '.join(map(quote, columns))} FROM {quote(OLD_TABLE)} ORDER BY {quote('id')}"  # noqa: S608
        cursor.execute(select)
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    new_model = apps.get_model("accounts", "AuthenticatorApp")
    for row in rows:
        for name in MOMENTS:
            row[name] = _aware(row[name])
        created_at = row.pop("created_at")
        data_key = data_key_create()
        device = new_model(data_key_id=data_key.id, secret=row.pop("key"), **row)
        # The historical model has no EncryptedModel.save(): hand it the key to encrypt with.
        device.__dict__["_weerbaar_data_key"] = key_in_use(data_key)
        device.save()
        new_model.objects.filter(pk=device.pk).update(created_at=created_at)
    schema_editor.execute(f"DROP TABLE {quote(OLD_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_authenticator_app_encrypted"),
        ("privacy", "0001_initial"),
    ]

    operations = [migrations.RunPython(encrypt_the_secrets, migrations.RunPython.noop)]
