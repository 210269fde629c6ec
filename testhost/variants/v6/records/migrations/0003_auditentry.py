# v6, a good release whose migration adds a table (records_auditentry). Rolling back
# must remove it again: `pg_restore --clean` would leave it behind.
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(max_length=100)),
            ],
        ),
    ]
