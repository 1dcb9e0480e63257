"""django-axes no longer logs successful logins (AXES_DISABLE_ACCESS_LOG); the addresses and
browsers it logged before go too, as nothing in the product reads them."""

from django.db import migrations


def forwards(apps, schema_editor):
    apps.get_model("axes", "AccessLog").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_superuser_without_organisation"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
