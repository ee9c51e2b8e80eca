import uuid

from django.conf import settings
from django.db import models

from platform_site.fields import NulFreeTextField, StorableJSONEncoder


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    TOOL = "tool", "Tool"


class MessageStatus(models.TextChoices):
    COMPLETE = "complete", "Complete"
    INTERRUPTED = "interrupted", "Interrupted"  # the client left mid-stream: partial text
    ERROR = "error", "Error"  # the model call failed; left out of the history sent later


class ChatSession(models.Model):
    """A conversation of one user with one agent; `session_id` continues it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="sessions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions"
    )
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "id"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"]),
            models.Index(fields=["agent", "-updated_at"]),
        ]

    def __str__(self) -> str:
        return self.title or str(self.id)


class ChatMessage(models.Model):
    """One turn of a session; an assistant turn carries its tool steps and token usage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = NulFreeTextField(blank=True, default="")
    # Tool calls the agent made for this answer, each with its arguments and result.
    steps = models.JSONField(default=list, blank=True, encoder=StorableJSONEncoder)
    usage = models.JSONField(default=dict, blank=True)
    model = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.COMPLETE
    )
    error = models.JSONField(null=True, blank=True, encoder=StorableJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"
