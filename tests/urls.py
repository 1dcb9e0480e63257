from django.urls import include, path

from config.urls import *  # noqa: F403
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [*product_urlpatterns, path("voorbeeld/", include("tests.example.urls"))]
