"""Pages of the cases app (执法案卷与法制审核)."""

from django.urls import path

from backend.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("reviews/", views.review_queue, name="reviews"),
    path("reviews/<int:review_id>/", views.review_page, name="review"),
    path("reviews/<int:review_id>/<slug:action>/", views.review_action, name="review_action"),
    path("supervision/", views.supervision, name="supervision"),
    path("register/", views.register, name="register"),
    path("catalogue/", views.catalogue_import, name="catalogue"),
    path("catalogue.xlsx", views.catalogue_export, name="catalogue_export"),
    path("register.xlsx", views.register_export, name="register_export"),
    path("documents/<uuid:document_id>/", views.document_download, name="document"),
    path("<uuid:case_id>/", views.case_detail, name="detail"),
    path("<uuid:case_id>/file.pdf", views.case_file, name="file"),
    path("<uuid:case_id>/<slug:action>/", views.case_action, name="action"),
]
