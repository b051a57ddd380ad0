"""Retention's web pages, under /retention/ (the JSON API stays under /api/retention/)."""

from django.urls import path

from backend.retention import protection_views, views

app_name = "retention"

urlpatterns = [
    path("policies/", views.policies, name="policies"),
    path("destruction/", views.destruction_batches, name="destruction"),
    path("destruction/<int:batch_id>/", views.destruction_batch, name="destruction_batch"),
    path(
        "destruction/<int:batch_id>/<str:action>/",
        views.destruction_batch_act,
        name="destruction_batch_act",
    ),
    path("capacity/", views.capacity, name="capacity"),
    path("continuity/", views.continuity, name="continuity"),
    path("holds/", protection_views.holds, name="holds"),
    path("holds/place/", protection_views.hold_place, name="hold_place"),
    path("holds/<int:hold_id>/release/", protection_views.hold_release, name="hold_release"),
    path("marks/", protection_views.mark_add, name="mark_add"),
    path("marks/<int:mark_id>/withdraw/", protection_views.mark_withdraw, name="mark_withdraw"),
    path("fixity/", protection_views.fixity_page, name="fixity"),
    path("fixity/run/", protection_views.fixity_run, name="fixity_run"),
    path(
        "fixity/alerts/<int:alert_id>/acknowledge/",
        protection_views.fixity_acknowledge,
        name="fixity_acknowledge",
    ),
    path("register/print/", views.register_print_page, name="register_print"),
]
