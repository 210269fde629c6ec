from django.db import models


class Ward(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    # v11 splits v2's `ward` text into a table of its own (0003, a data migration without a reverse):
    # healthy, irreversible. A rollback restores the set's database and carries later writes over.
    ward_ref = models.ForeignKey(Ward, null=True, blank=True, on_delete=models.SET_NULL)
