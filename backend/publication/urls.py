"""Staff pages of the publication app (mounted at /publication/)."""

from django.urls import path

from backend.publication import views

app_name = "publication"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("items/<uuid:item_id>/publish/", views.publish, name="publish"),
    path("items/<uuid:item_id>/exclude/", views.exclude, name="exclude"),
    path("items/<uuid:item_id>/withdraw/", views.withdraw, name="withdraw"),
    path("report/<int:year>/", views.report, name="report"),
    path("report/<int:year>/file/", views.report_file, name="report_file"),
    path("timeliness/", views.timeliness, name="timeliness"),
    path("reports/", views.reports, name="reports"),
    path("notices/", views.notices, name="notices"),
    path("reports/<uuid:report_id>/handle/", views.report_handle, name="report_handle"),
    path("report/<int:year>.xlsx", views.report_xlsx, name="report_xlsx"),
]
