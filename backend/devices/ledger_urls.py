"""The device ledger (/devices/…): ledger states set from the silent-devices list."""

from django.urls import path

from backend.devices import views

app_name = "device_ledger"

urlpatterns = [
    path("<uuid:device_id>/ledger/", views.device_ledger, name="set"),
]
