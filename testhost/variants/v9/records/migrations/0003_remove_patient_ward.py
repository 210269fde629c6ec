# v9, "a healthy destructive release": drops v2's Patient.ward (column and its values). A rollback to
# v2 must restore the database (Django cannot bring the values back) and carry over later writes.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='patient',
            name='ward',
        ),
    ]
