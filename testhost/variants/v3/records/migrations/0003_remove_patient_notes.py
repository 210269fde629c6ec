# v3, "the broken release": destroys data. Drops Patient.notes (column and its
# contents gone), after v2's 0002 so `ward` exists first. Once applied, v1/v2 code
# (which still selects `notes`) answers 500 on /health/ until the DB is restored.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='patient',
            name='notes',
        ),
    ]
