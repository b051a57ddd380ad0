"""Community correction pages (correction officers; supervisors of the offices above)."""

from django.urls import path

from backend.corrections import step_views, track_views, views

app_name = "corrections"

urlpatterns = [
    path("", views.subject_list, name="subjects"),
    path("alerts/", views.alert_queue, name="alerts"),
    path("subjects/<str:subject_id>/", views.subject_detail, name="subject"),
    path("subjects/<str:subject_id>/contacts/", views.contact_create, name="contact_create"),
    path("subjects/<str:subject_id>/steps/", step_views.step_create, name="step_create"),
    path(
        "subjects/<str:subject_id>/permissions/",
        step_views.permission_create,
        name="permission_create",
    ),
    path("subjects/<str:subject_id>/track/", track_views.track, name="track"),
    path("track-register/", track_views.track_register, name="track_register"),
    path("permissions/", step_views.permission_queue, name="permissions"),
    path(
        "permissions/<int:request_id>/decide/",
        step_views.permission_decision,
        name="permission_decide",
    ),
    path("position-alerts/<int:alert_id>/close/", step_views.alert_close, name="alert_close"),
]
