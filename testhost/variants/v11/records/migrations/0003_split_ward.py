# v11, "a table split by a data migration without a reverse": each distinct ward becomes a row of
# records_ward, patients point at it, the text column goes. Django cannot undo it (no reverse code).
from django.db import migrations, models
import django.db.models.deletion


def split(apps, schema_editor):
    Patient = apps.get_model('records', 'Patient')
    Ward = apps.get_model('records', 'Ward')
    for p in Patient.objects.exclude(ward__isnull=True).exclude(ward=''):
        p.ward_ref, _ = Ward.objects.get_or_create(name=p.ward)
        p.save(update_fields=['ward_ref'])


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_patient_ward'),
    ]

    operations = [
        migrations.CreateModel(
            name='Ward',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=50, unique=True)),
            ],
        ),
        migrations.AddField(
            model_name='patient',
            name='ward_ref',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='records.ward'),
        ),
        migrations.RunPython(split),
        migrations.RemoveField(
            model_name='patient',
            name='ward',
        ),
    ]
