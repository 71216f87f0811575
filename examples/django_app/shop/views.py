import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import cache_page

from .models import Product


def healthz(request):
    """Liveness and readiness: the process answers. No database call, so a database outage
    does not make the kubelet restart every pod."""
    return JsonResponse({"status": "ok"})


def products(request):
    rows = list(Product.objects.order_by("name").values("name", "price_cents", "sku"))
    return JsonResponse({"products": rows, "features": settings.FEATURES})


@cache_page(60)
def cached_clock(request):
    """A view the cache answers for a minute: the same body until it expires or is evicted."""
    return JsonResponse({"generated_ns": time.time_ns()})
