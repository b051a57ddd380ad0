from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from backend.accounts.models import Officer, Unit, User


@admin.register(User)
class FieldVaultUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("FieldVault", {"fields": ("unit", "role")}))  # type: ignore[misc]
    list_display = ("username", "first_name", "last_name", "role", "unit", "is_active")
    list_filter = ("role", "unit", "is_active")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "path")
    readonly_fields = ("path",)


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "unit",
        "post",
        "certificate_number",
        "certificate_valid_until",
        "certificate_status",
    )
    search_fields = ("name", "certificate_number")
    list_filter = ("unit", "certificate_status")
