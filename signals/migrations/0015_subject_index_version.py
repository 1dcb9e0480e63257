from django.db import migrations, models


class Migration(migrations.Migration):
    """Subjects stored before carry index version 1, so the nightly reindex finds them (and gives
    them the new address and kenteken indexes); new ones get today's version."""

    dependencies = [
        ("signals", "0014_handler_notification"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model,
                name=name,
                field=models.CharField(blank=True, default="", max_length=64, db_index=model == "subject"),
            )
            for model in ("historicalsubject", "subject")
            for name in ("address_index", "kenteken_index")
        ),
        *(
            migrations.AddField(
                model_name=model, name="index_version", field=models.PositiveSmallIntegerField(default=1)
            )
            for model in ("historicalsubject", "subject")
        ),
        *(
            migrations.AlterField(
                model_name=model, name="index_version", field=models.PositiveSmallIntegerField(default=3)
            )
            for model in ("historicalsubject", "subject")
        ),
    ]
