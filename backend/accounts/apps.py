from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "账户与人员"

    def ready(self) -> None:
        # Deploy checks of the whole installation (fieldvault.E001…): registered on import.
        from backend.config import checks  # noqa: F401
