from django.urls import path

from accounts import beheer_views

app_name = "beheer"

urlpatterns = [
    path("gebruikers/", beheer_views.user_list, name="user_list"),
    path("gebruikers/nieuw/", beheer_views.user_create, name="user_create"),
    path("gebruikers/<int:pk>/", beheer_views.user_detail, name="user_detail"),
    path("gebruikers/<int:pk>/wijzigen/", beheer_views.user_edit, name="user_edit"),
    path(
        "gebruikers/<int:pk>/tweestapsverificatie-wissen/",
        beheer_views.user_reset_two_factor,
        name="user_reset_two_factor",
    ),
    path("gebruikers/<int:pk>/ontgrendelen/", beheer_views.user_unlock, name="user_unlock"),
    path("gebruikers/<int:pk>/activering/", beheer_views.user_activation_resend, name="user_activation_resend"),
    path("gebruikers/<int:pk>/actief/", beheer_views.user_set_active, name="user_set_active"),
    path("organisatie/", beheer_views.organisation, name="organisation"),
    path(
        "organisatie/vertrouwelijk-melden/",
        beheer_views.organisation_confidential_reporting,
        name="organisation_confidential_reporting",
    ),
]
