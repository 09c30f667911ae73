from django.db import migrations, models


def keys_were_entered_for_the_current_url(apps, schema_editor):
    KustomerConnection = apps.get_model("integrations", "KustomerConnection")
    KustomerConnection.objects.update(api_key_base_url=models.F("base_url"))


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="kustomerconnection",
            name="api_key_base_url",
            field=models.URLField(blank=True, default="", max_length=300),
        ),
        migrations.RunPython(keys_were_entered_for_the_current_url, migrations.RunPython.noop),
    ]
