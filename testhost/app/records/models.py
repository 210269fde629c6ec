from django.db import models


class Patient(models.Model):
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
