"""The public site (mounted at /public/): no sign-in."""

from django.urls import path

from backend.publication import views

app_name = "public"

urlpatterns = [
    path("", views.public_index, name="index"),
    path("items/<uuid:item_id>/", views.public_detail, name="item"),
    path("items/<uuid:item_id>/report/", views.public_report, name="report"),
    path("reports/<uuid:report_id>/", views.public_ticket, name="ticket"),
    path("officers/", views.public_officers, name="officers"),
    path("matters/", views.public_matters, name="matters"),
    path("inspection-items/", views.public_inspection_items, name="inspection_items"),
    path("record-list/", views.public_record_list, name="record_list"),
    path("notices/", views.public_notices, name="notices"),
    path("language/<str:code>/", views.public_language, name="language"),
]
