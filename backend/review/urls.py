"""The supervisors' pages."""

from django.urls import path

from backend.review import views

app_name = "review"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("recordings/", views.recording_list, name="recordings"),
    path("recordings/<str:recording_id>/", views.recording_detail, name="recording"),
    path(
        "recordings/<str:recording_id>/reprocess/",
        views.recording_reprocess,
        name="recording_reprocess",
    ),
    path(
        "recordings/<str:recording_id>/download/",
        views.recording_download,
        name="recording_download",
    ),
    path("activities/", views.activity_list, name="activities"),
    path("activities/<str:activity_id>/", views.activity_detail, name="activity"),
    path("access/", views.access_request_list, name="access_requests"),
    path("access/<str:request_id>/", views.access_request_detail, name="access_request"),
    path(
        "access/<str:request_id>/documents/",
        views.access_request_document,
        name="access_request_document",
    ),
    path(
        "access/<str:request_id>/approve/",
        views.access_request_decide,
        {"decision": "approve"},
        name="access_request_approve",
    ),
    path(
        "access/<str:request_id>/reject/",
        views.access_request_decide,
        {"decision": "reject"},
        name="access_request_reject",
    ),
    path("grants/<str:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("grants/<str:grant_id>/export/", views.export_create, name="export_create"),
    path("exports/<str:export_id>/", views.export_detail, name="export"),
    path("exports/<str:export_id>/download/", views.export_download, name="export_download"),
    path("register/", views.register, name="register"),
    path("register.xlsx", views.register_xlsx, name="register_xlsx"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit.xlsx", views.audit_log_xlsx, name="audit_log_xlsx"),
    path("storage/", views.storage, name="storage"),
    path("approvers/", views.approvers, name="approvers"),
    path("approvers/access/", views.approver_action, {"action": "access"}, name="approver_access"),
    path(
        "approvers/access/withdraw/",
        views.approver_action,
        {"action": "access_withdraw"},
        name="approver_access_withdraw",
    ),
    path("approvers/leaders/", views.approver_action, {"action": "leader"}, name="approver_leader"),
    path(
        "approvers/leaders/withdraw/",
        views.approver_action,
        {"action": "leader_withdraw"},
        name="approver_leader_withdraw",
    ),
]
