from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from config import views
from signals import api as signals_api

router = SimpleRouter(use_regex_path=False)
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("signals", signals_api.SignalViewSet, basename="signal")

api_v1 = [
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *router.urls,
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("account/", include("accounts.urls")),
    path("", include("signals.urls")),
    path("beheer/bewaartermijnen/", include("privacy.urls")),
    path("beheer/", include("accounts.urls_beheer")),
    path("audit/", include("audit.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/v1/docs/", views.ApiDocsView.as_view(url_name="api:schema"), name="api_docs"),
    path("admin/", admin.site.urls),
]
