# v7, "a migration raises": non-atomic, so the table it creates stays while the
# migration itself fails and is never recorded. The container exits at every start;
# the database is left changed underneath the previous release.
from django.db import migrations, models


def fail(apps, schema_editor):
    raise RuntimeError('v7 data migration failed half-way')


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportBatch',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=100)),
            ],
        ),
        migrations.RunPython(fail),
    ]
