"""Organisations that existed before the meldpunt get the default phenomena (new organisations get
them from signals/receivers.py). The list is frozen here, as it was when this migration was written."""

from django.db import migrations

DEFAULTS = [
    "Drugs",
    "Witwassen",
    "Mensenhandel / uitbuiting",
    "Vastgoed",
    "Horeca",
    "Zorgfraude",
    "Misbruik van vergunningen of subsidies",
    "Intimidatie / beïnvloeding van bestuur",
    "Overig",
]


def add_defaults(apps, schema_editor):
    Organisation = apps.get_model("accounts", "Organisation")
    Phenomenon = apps.get_model("signals", "Phenomenon")
    for organisation_id in Organisation.objects.values_list("pk", flat=True):
        if not Phenomenon.objects.filter(organisation_id=organisation_id).exists():
            Phenomenon.objects.bulk_create(
                [Phenomenon(organisation_id=organisation_id, name=name, position=i) for i, name in enumerate(DEFAULTS)]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("signals", "0002_confidential_reporting"),
        ("accounts", "0002_security_stamp_confidential_reporting"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
