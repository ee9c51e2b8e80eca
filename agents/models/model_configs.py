import uuid

from django.conf import settings
from django.db import models

from platform_site import crypto


class ModelConfig(models.Model):
    """An OpenAI-compatible model endpoint; without an owner it is shared (admin-managed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="model_configs",
        help_text="Empty: a shared config every user may use (only admins change it).",
    )
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=64)
    base_url = models.CharField(
        max_length=500, blank=True, default="", help_text="Empty: the provider's default URL."
    )
    model = models.CharField(max_length=200)
    # Always stored encrypted (platform_site.crypto); never shown by the API or the admin.
    api_key = models.TextField(blank=True, default="")
    defaults = models.JSONField(default=dict, blank=True)
    timeout_s = models.FloatField(default=60.0)
    is_default = models.BooleanField(
        default=False, help_text="Used when a node names only this config's provider."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "provider"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider}/{self.model})"

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    @property
    def api_key_set(self) -> bool:
        return bool(self.api_key)

    def set_api_key(self, plaintext: str) -> None:
        """Store `plaintext` encrypted (an empty key clears it)."""
        self.api_key = crypto.encrypt(plaintext) if plaintext else ""

    def decrypted_api_key(self) -> str:
        """The key in clear, for the one moment a call needs it."""
        return crypto.decrypt(self.api_key) if self.api_key else ""
