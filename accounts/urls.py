from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("inloggen/", views.login_view, name="login"),
    path("uitloggen/", views.LogoutView.as_view(), name="logout"),
    path("tweestapsverificatie/", views.two_factor_setup, name="two_factor_setup"),
    path("", views.security, name="security"),
    path("reservecodes/", views.backup_codes_regenerate, name="backup_codes"),
    path("tokens/", views.api_token_create, name="api_token_create"),
    path("tokens/<int:pk>/intrekken/", views.api_token_revoke, name="api_token_revoke"),
    path("activeren/<uidb64>/<token>/", views.ActivateView.as_view(), name="activate"),
    path("actief/", views.keep_alive, name="keep_alive"),
]
