"""API tokens expire. Tokens made before get the default term from the day they were made; one
older than that stops working now, and its owner makes a new one."""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F

#: WEERBAAR_API_TOKEN_DAYS's default, written out: this migration keeps doing what it did.
DAYS = 90


def forwards(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=F("created_at") + timedelta(days=DAYS))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_remove_axes_login_log")]

    operations = [
        migrations.AddField(
            model_name="apitoken", name="expires_at", field=models.DateTimeField(null=True, verbose_name="verloopt")
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken", name="expires_at", field=models.DateTimeField(verbose_name="verloopt")
        ),
    ]
