from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "backend.review"
    label = "review"
    verbose_name = "调阅与查阅登记"

    def ready(self) -> None:
        # /admin/login/ shares the sign-in throttle of the staff pages (one throttle for every
        # sign-in path): the admin site's login form is review's lockout form.
        from django.contrib import admin

        from backend.review.forms import LockoutAdminAuthenticationForm

        admin.site.login_form = LockoutAdminAuthenticationForm
