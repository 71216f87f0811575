from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_product_sku")]

    operations = [
        migrations.CreateModel(
            name="TaskRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("finished_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
