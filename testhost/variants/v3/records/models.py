from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    # v3: `notes` removed (migration 0003 drops the column and its data).
    created = models.DateTimeField(auto_now_add=True)
    # From v2 (migration 0002).
    ward = models.CharField(max_length=50, null=True, blank=True)
