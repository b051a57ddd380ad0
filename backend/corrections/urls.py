"""Community correction pages (correction officers; supervisors of the offices above)."""

from django.urls import path

from backend.corrections import views

app_name = "corrections"

urlpatterns = [
    path("", views.subject_list, name="subjects"),
    path("alerts/", views.alert_queue, name="alerts"),
    path("subjects/<str:subject_id>/", views.subject_detail, name="subject"),
    path("subjects/<str:subject_id>/contacts/", views.contact_create, name="contact_create"),
]
