from __future__ import annotations

from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set itself."""

    PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path_info.startswith("/static/"):
            # Pages about signals and people must not stay in shared or browser caches.
            patch_cache_control(response, no_store=True, private=True)
        return response
