from django.urls import path
from shop import views

urlpatterns = [
    path("healthz", views.healthz),
    path("products", views.products),
    path("cached-clock", views.cached_clock),
]
