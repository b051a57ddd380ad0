from django.urls import path

from backend.accounts import views

app_name = "accounts"

urlpatterns = [
    path("certificates/", views.certificates, name="certificates"),
]
