from django.urls import path

from backend.devices import views

app_name = "devices"

urlpatterns = [
    path("", views.docks, name="docks"),
    path("cameras/<str:camera_id>/assign/", views.camera_assign, name="camera_assign"),
]
