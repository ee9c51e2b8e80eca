from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users with their role; operators promote or demote admins here."""

    list_display = ("username", "email", "role", "is_active", "is_staff", "created_at")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "email")
    ordering = ("username",)
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Platform", {"fields": ("role",)}))
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("username", "email", "role", "password1", "password2")}),
    )
    actions = ("make_admin", "make_user")

    @admin.action(description="Give the admin role")
    def make_admin(self, request, queryset):
        queryset.update(role="admin")

    @admin.action(description="Give the user role")
    def make_user(self, request, queryset):
        queryset.update(role="user")
