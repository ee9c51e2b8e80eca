import uuid

from django.conf import settings
from django.db import models

from datasources.connectors import registry
from platform_site.fields import NulFreeTextField


def connector_choices() -> list[tuple[str, str]]:
    """The registered connector types as model choices."""
    return [(name, registry.get(name).label) for name in registry.types()]


class DataSourceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ERROR = "error", "Error"


class ConnectionTestStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"


class DataSource(models.Model):
    """A user's connection to a database, REST API or file; secret config values are encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_sources"
    )
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=connector_choices())
    description = models.TextField(blank=True, default="")
    # Secret fields (per the connector's ConfigField.secret) hold `enc:v1:` tokens, never
    # plain text: see datasources.secrets. Read it through the services, not directly.
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=DataSourceStatus.choices, default=DataSourceStatus.ACTIVE
    )
    last_test_status = models.CharField(
        max_length=16, choices=ConnectionTestStatus.choices, blank=True, default=""
    )
    last_test_message = NulFreeTextField(blank=True, default="")
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_latency_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["owner", "type"]),
            models.Index(fields=["owner", "status"]),
        ]

    def __str__(self) -> str:
        return self.name
