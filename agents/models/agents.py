import uuid

from django.conf import settings
from django.db import models

DEFAULT_ITERATION_LIMIT = 10


class AgentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    DEPLOYED = "deployed", "Deployed"
    STOPPED = "stopped", "Stopped"


class Agent(models.Model):
    """A system prompt, a model and a set of tools the model may call; `version` counts edits."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agents"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    model_config = models.ForeignKey(
        "agents.ModelConfig",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agents",
    )
    # Per-agent overrides of the config: model, temperature, max_tokens.
    model_params = models.JSONField(default=dict, blank=True)
    tools = models.JSONField(default=list, blank=True)
    iteration_limit = models.PositiveSmallIntegerField(default=DEFAULT_ITERATION_LIMIT)
    workflow_config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=AgentStatus.choices, default=AgentStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["owner", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.name


class AgentVersion(models.Model):
    """An immutable snapshot of an agent's configuration at one version number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    # An id, not a foreign key: deleting a config must not rewrite history.
    model_config_id = models.UUIDField(null=True, blank=True)
    model_params = models.JSONField(default=dict, blank=True)
    tools = models.JSONField(default=list, blank=True)
    iteration_limit = models.PositiveSmallIntegerField(default=DEFAULT_ITERATION_LIMIT)
    workflow_config = models.JSONField(default=dict, blank=True)
    comment = models.CharField(max_length=500, blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "number"], name="unique_agent_version")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} v{self.number}"
