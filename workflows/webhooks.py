"""Webhooks: a secret URL per workflow that starts a run with the request's body as input.

Only a SHA-256 of the token is stored; a call finds its webhook through the hash's unique index,
so the token is never compared character by character. A new token replaces the old one.
Calls run only published workflows, as the workflow's owner.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from executions.following import ExecutionFollower
from executions.models import Execution, ExecutionTrigger
from executions.services import execution_create
from platform_site.api.errors import Conflict

from .models import WebhookTrigger, Workflow, WorkflowStatus

TOKEN_PREFIX = "whk_"  # noqa: S105 - a prefix, not a secret
DISPLAY_PREFIX_LENGTH = 12
LAST_CALLED_RESOLUTION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """The stored form of a webhook token."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def webhook_rotate(*, workflow: Workflow, wait: bool = False, timeout_s: int = 30
                   ) -> tuple[WebhookTrigger, str]:
    """Give the workflow a new secret token (the old URL stops working); returns it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    hook, _ = WebhookTrigger.objects.update_or_create(
        workflow=workflow,
        defaults={"token_hash": token_hash(token), "token_prefix": token[:DISPLAY_PREFIX_LENGTH],
                  "wait": wait, "timeout_s": timeout_s, "created_at": timezone.now()},
    )
    return hook, token


def webhook_delete(*, workflow: Workflow) -> bool:
    """Remove the workflow's webhook; True when there was one."""
    deleted, _ = WebhookTrigger.objects.filter(workflow=workflow).delete()
    return bool(deleted)


def webhook_for_token(token: str) -> WebhookTrigger | None:
    """The webhook a token opens, with its workflow and owner, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return (WebhookTrigger.objects.select_related("workflow", "workflow__owner")
            .filter(token_hash=token_hash(token)).first())


def webhook_call(*, hook: WebhookTrigger, body) -> tuple[Execution, ExecutionFollower | None]:
    """Start a run with `body` as input (a body that is not an object comes as `{"body": ...}`).

    A webhook that waits also gets a follower, subscribed before the run's message was sent.
    """
    workflow = hook.workflow
    if workflow.status != WorkflowStatus.PUBLISHED:
        raise Conflict(f"The workflow is {workflow.status}; webhooks run published workflows.",
                       error_code="WORKFLOW_NOT_PUBLISHED")
    input_data = body if isinstance(body, dict) else {"body": body}
    with transaction.atomic():  # the message goes on commit, after the subscription
        execution = execution_create(owner=workflow.owner, workflow=workflow,
                                     input_data=input_data, trigger=ExecutionTrigger.WEBHOOK,
                                     trigger_ref=hook.pk)
        follower = ExecutionFollower(execution.pk) if hook.wait else None
    now = timezone.now()
    if hook.last_called_at is None or now - hook.last_called_at >= LAST_CALLED_RESOLUTION:
        WebhookTrigger.objects.filter(pk=hook.pk).update(last_called_at=now)
    return execution, follower
