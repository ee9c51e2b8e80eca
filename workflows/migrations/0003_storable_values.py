import platform_site.fields
from django.db import migrations


class Migration(migrations.Migration):
    """Fields that store NUL as U+FFFD and NaN or ±Infinity as null (platform_site.fields).

    Only what Django writes changes, not the columns: the operations change the state
    alone, so that SQLite does not copy each table to alter nothing.
    """

    dependencies = [
        ('workflows', '0002_webhooks_schedules'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='schedule',
                    name='last_error',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
            ],
            database_operations=[],
        ),
    ]
