from django.urls import path

from backend.integrity import views

app_name = "integrity"

urlpatterns = [path("", views.integrity_page, name="overview")]
