import platform_site.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    """Fields that store NUL as U+FFFD and NaN or ±Infinity as null (platform_site.fields).

    Only what Django writes changes, not the columns: the operations change the state
    alone, so that SQLite does not copy each table to alter nothing.
    """

    dependencies = [
        ('agents', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='chatmessage',
                    name='content',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
                migrations.AlterField(
                    model_name='chatmessage',
                    name='error',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
                migrations.AlterField(
                    model_name='chatmessage',
                    name='steps',
                    field=models.JSONField(blank=True, default=list, encoder=platform_site.fields.StorableJSONEncoder),
                ),
                migrations.AlterField(
                    model_name='llmcalllog',
                    name='error_message',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
            ],
            database_operations=[],
        ),
    ]
