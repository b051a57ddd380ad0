from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "backend.review"
    label = "review"
    verbose_name = "调阅与查阅登记"
