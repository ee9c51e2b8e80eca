import uuid

from django.conf import settings
from django.db import models


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", "Draft (awaiting an operator)"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class WorkflowTemplate(models.Model):
    """A reusable workflow graph; built-ins have no author and a `source_key`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=64, blank=True, default="general", db_index=True)
    tags = models.JSONField(default=list, blank=True)
    nodes = models.JSONField(default=list, blank=True)
    edges = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=TemplateStatus.choices,
                              default=TemplateStatus.DRAFT)
    featured = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="workflow_templates", help_text="Empty for the platform's built-ins.",
    )
    # Built-ins are matched by this key on every import, so editing their JSON updates them.
    source_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    review_comment = models.CharField(max_length=500, blank=True, default="")
    times_used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-featured", "-times_used", "name"]
        indexes = [models.Index(fields=["status", "category"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return self.author_id is None and bool(self.source_key)

    @property
    def graph(self) -> dict:
        return {"nodes": self.nodes, "edges": self.edges}
