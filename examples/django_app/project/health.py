"""Answer the health path before host validation.

ALB target health checks send the target's IP as ``Host`` and that cannot be changed; Django
would answer 400 (DisallowedHost) to a Host outside ALLOWED_HOSTS. This middleware, listed
before SecurityMiddleware, answers exactly the health path itself and never reads the Host, so
every other path still gets Django's host validation.
"""

import os

from django.http import JsonResponse

HEALTH_PATH = os.environ.get("DJANGO_HEALTH_PATH", "/healthz")


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            # The process answers; no database call, so an outage does not restart every pod.
            return JsonResponse({"status": "ok"})
        return self.get_response(request)
