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


class MethodNotAllowedPageMiddleware:
    """A page asked with a method it does not take (a bookmarked 'uitloggen', which only POSTs)
    gets a Dutch page instead of Django's empty 405; the API answers in JSON already."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path_info.startswith("/api/"):
            return response
        from config.views import method_not_allowed

        page = method_not_allowed(request)
        page["Allow"] = response.get("Allow", "")
        return page
