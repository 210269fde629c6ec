from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    ward = models.CharField(max_length=50, null=True, blank=True)
    # v8: a NOT NULL column with a Django-side default only. v1 still reads the table, but its inserts
    # omit the column and fail: a rollback must migrate it away (or restore), never just swap images.
    priority = models.IntegerField(default=0)
