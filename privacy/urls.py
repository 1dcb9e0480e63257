from django.urls import path

from privacy import views

app_name = "privacy"

# Included under /beheer/bewaartermijnen/: the administrator's retention settings.
urlpatterns = [
    path("", views.policy_list, name="policy_list"),
    path("<int:pk>/", views.policy_edit, name="policy_edit"),
]
