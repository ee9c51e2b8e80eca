import platform_site.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    """Fields that store NUL as U+FFFD and NaN or ±Infinity as null (platform_site.fields).

    Only what Django writes changes, not the columns: the operations change the state
    alone, so that SQLite does not copy each table to alter nothing.
    """

    dependencies = [
        ('executions', '0002_triggers_batches_servers_uploads'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='batchitem',
                    name='error',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
                migrations.AlterField(
                    model_name='batchitem',
                    name='output_data',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
                migrations.AlterField(
                    model_name='execution',
                    name='error',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
                migrations.AlterField(
                    model_name='execution',
                    name='input_data',
                    field=models.JSONField(blank=True, default=dict, encoder=platform_site.fields.StorableJSONEncoder),
                ),
                migrations.AlterField(
                    model_name='execution',
                    name='output_data',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
                migrations.AlterField(
                    model_name='executionlog',
                    name='data',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
                migrations.AlterField(
                    model_name='executionlog',
                    name='message',
                    field=platform_site.fields.NulFreeTextField(),
                ),
                migrations.AlterField(
                    model_name='noderun',
                    name='error',
                    field=platform_site.fields.NulFreeTextField(blank=True, default=''),
                ),
                migrations.AlterField(
                    model_name='noderun',
                    name='input',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
                migrations.AlterField(
                    model_name='noderun',
                    name='output',
                    field=models.JSONField(blank=True, encoder=platform_site.fields.StorableJSONEncoder, null=True),
                ),
            ],
            database_operations=[],
        ),
    ]
