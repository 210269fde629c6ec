# v5: a second good release after v2 (same schema, no new migration), for
# benchmarks switching v2 -> v5 -> v2. Copy of variants/v2/records/models.py.
from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    # v2: migration 0002 adds this nullable column; v1 keeps working against it (rollback).
    ward = models.CharField(max_length=50, null=True, blank=True)
