from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price_cents = models.PositiveIntegerField()
    sku = models.CharField(max_length=32, unique=True, null=True)

    def __str__(self) -> str:
        return self.name


class TaskRun(models.Model):
    """One finished background task."""

    name = models.CharField(max_length=200)
    finished_at = models.DateTimeField(auto_now_add=True)
