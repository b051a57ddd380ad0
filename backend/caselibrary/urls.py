"""Pages of the case library (案例库), mounted at /library/."""

from django.urls import path

from backend.caselibrary import views

app_name = "caselibrary"

urlpatterns = [
    path("", views.library, name="library"),
    path("drafts/", views.drafts, name="drafts"),
    path("new/", views.start, name="new"),
    path("quota/", views.quota, name="quota"),
    path("package/", views.package, name="package"),
    path("import/", views.package_import_page, name="import"),
    path("<uuid:case_id>/", views.detail, name="detail"),
    path("<uuid:case_id>/edit/", views.edit, name="edit"),
    path("<uuid:case_id>/masking/", views.masking, name="masking"),
    path("<uuid:case_id>/<slug:action>/", views.action, name="action"),
]
