# v8, "breaks the old code's writes": adds a NOT NULL column. Django fills existing rows with the
# default and then drops it from the column, so the previous release's INSERT (which omits the column) fails.
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='priority',
            field=models.IntegerField(default=0),
        ),
    ]
