from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    # v9 drops v2's `ward` (0003): healthy, destructive. Rolling back restores the set's database and
    # carries over the patients written through v9.
