from django.urls import path

from audit import views
from privacy import views as retention_views

app_name = "audit"

urlpatterns = [
    path("", views.audit_event_list, name="event_list"),
    path("export.csv", views.audit_event_export, name="event_export"),
    path("toegang/", views.access_log_list, name="access_log"),
    # The privacy officer's retention pages live under /audit/ with the audit trail; their views
    # are privacy's. The reminder mail links to audit:retention.
    path("bewaartermijnen/", retention_views.retention_overview, name="retention"),
    path(
        "bewaartermijnen/uitstellen/<str:record_type>/<int:pk>/",
        retention_views.retention_postpone_view,
        name="retention_postpone",
    ),
]
