from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    # v10 renames v2's `ward` to `unit` (0003): healthy, destructive for v2 (its queries name `ward`),
    # yet Django's reverse renames it back, so a rollback migrates back and keeps every value.
    unit = models.CharField(max_length=50, null=True, blank=True)
