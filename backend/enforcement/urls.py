"""Pages of the enforcement app: the record list and activity imports."""

from django.urls import path

from backend.enforcement import views

app_name = "enforcement"

urlpatterns = [
    path("record-list/", views.record_list_import, name="record_list_import"),
    path("record-list/export.xlsx", views.record_list_export, name="record_list_export"),
    path("activities/import/", views.activities_import, name="activities_import"),
    path("matters/", views.matters_import, name="matters_import"),
    path("matters/export.xlsx", views.matters_export, name="matters_export"),
]
