from django.urls import path

from tests.example import views

app_name = "example"
urlpatterns = [path("dossiers/<int:pk>/", views.dossier_detail, name="dossier_detail")]
