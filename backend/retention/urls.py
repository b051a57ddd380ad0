"""Retention's web pages, under /retention/ (the JSON API stays under /api/retention/)."""

from django.urls import path

from backend.retention import views

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
    path("register/print/", views.register_print_page, name="register_print"),
]
