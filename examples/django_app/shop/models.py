from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price_cents = models.PositiveIntegerField()
    sku = models.CharField(max_length=32, unique=True, null=True)

    def __str__(self) -> str:
        return self.name
