from django.urls import path

from backend.accounts import views

app_name = "accounts"

urlpatterns = [
    path("certificates/", views.certificates, name="certificates"),
    path("import/", views.roster_import, name="roster_import"),
    path("export.xlsx", views.roster_export, name="roster_export"),
]
