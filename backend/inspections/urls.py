"""Pages of the inspections app: the item list and target imports and exports."""

from django.urls import path

from backend.inspections import views

app_name = "inspections"

urlpatterns = [
    path("items/", views.items_import, name="items_import"),
    path("items/export.xlsx", views.items_export, name="items_export"),
    path("targets/", views.targets_import, name="targets_import"),
    path("targets/export.xlsx", views.targets_export, name="targets_export"),
]
