"""Gap explanation actions and the supervisors' link/unlink/re-check actions (the activity
page shows them; backend/review), and the coverage report pages."""

from django.urls import path

from backend.coverage import link_views, report_views, views

app_name = "coverage"

urlpatterns = [
    path("reports/", report_views.reports, name="reports"),
    path("activities/<str:activity_id>/explanations/", views.explanation_create, name="explain"),
    path("explanations/<int:explanation_id>/decide/", views.explanation_decide, name="decide"),
    path("activities/<str:activity_id>/recheck/", link_views.recheck, name="recheck"),
    path("activities/<str:activity_id>/links/", link_views.link_add, name="link"),
    path(
        "activities/<str:activity_id>/links/<str:recording_id>/remove/",
        link_views.link_remove,
        name="unlink",
    ),
]
