"""Gap explanation actions (the activity page shows them; backend/review)."""

from django.urls import path

from backend.coverage import views

app_name = "coverage"

urlpatterns = [
    path("activities/<str:activity_id>/explanations/", views.explanation_create, name="explain"),
    path("explanations/<int:explanation_id>/decide/", views.explanation_decide, name="decide"),
]
