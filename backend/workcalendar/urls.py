"""The system administrators' holiday arrangement pages."""

from django.urls import path

from backend.workcalendar import views

app_name = "workcalendar"

urlpatterns = [
    path("", views.calendar_overview, name="overview"),
    path("enter/", views.calendar_enter, name="enter"),
    path("<int:year>/", views.calendar_year, name="year"),
    path("<int:year>/export.xlsx", views.calendar_export, name="export"),
]
