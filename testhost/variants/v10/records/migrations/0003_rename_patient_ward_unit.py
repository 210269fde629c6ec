# v10, "a rename": v2's queries fail on the new name, and Django's reverse restores the old one with
# every value in place.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.RenameField(
            model_name='patient',
            old_name='ward',
            new_name='unit',
        ),
    ]
