import json

from django.contrib import admin, messages
from django.utils.html import format_html

from datasources import services
from datasources.connectors import registry
from datasources.models import DataSource
from datasources.secrets import mask_secrets


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    """Data sources with owner, type, status and last test; config shown masked, never edited."""

    list_display = ("name", "owner", "type", "status", "last_test_status", "last_tested_at",
                    "updated_at")
    list_filter = ("type", "status", "last_test_status")
    search_fields = ("name", "description", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    # `config` is deliberately not a form field: its stored form holds encrypted secrets and
    # editing it here would bypass the connector's validation. Change it through the API.
    fields = ("id", "owner", "name", "type", "description", "status", "masked_config",
              "last_test_status", "last_test_message", "last_tested_at", "last_test_latency_ms",
              "created_at", "updated_at")
    readonly_fields = ("id", "type", "masked_config", "last_test_status", "last_test_message",
                       "last_tested_at", "last_test_latency_ms", "created_at", "updated_at")
    actions = ("test_connection",)

    def has_add_permission(self, request) -> bool:
        # A source needs a validated config with encrypted secrets: create it through the API.
        return False

    @admin.display(description="Config (secrets masked)")
    def masked_config(self, obj: DataSource) -> str:
        try:
            masked = mask_secrets(registry.get(obj.type), obj.config or {})
        except Exception:  # an unknown type: show nothing rather than raw stored values
            return "(unavailable)"
        return format_html("<pre>{}</pre>", json.dumps(masked, indent=2, sort_keys=True))

    def save_model(self, request, obj: DataSource, form, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        services.datasource_update(
            data_source=obj, name=obj.name, description=obj.description, status=obj.status
        )
        if "owner" in form.changed_data:
            obj.save(update_fields=["owner", "updated_at"])

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset) -> None:
        for source in queryset.order_by("name"):
            result = services.datasource_test(data_source=source)
            level = messages.SUCCESS if result.ok else messages.ERROR
            outcome = "succeeded" if result.ok else "failed"
            self.message_user(
                request,
                f"{source.name}: the test {outcome} in {result.latency_ms:.0f} ms: "
                f"{result.message}",
                level,
            )
