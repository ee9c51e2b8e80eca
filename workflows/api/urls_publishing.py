"""Routes of published workflows, webhooks and schedules."""

from django.urls import path

from platform_site.api.routers import OptionalSlashRouter

from .publishing import ChatCompletionsView, CompletionDetailView, ResumeView
from .schedules import ScheduleViewSet
from .webhooks import WebhookTriggerView, WorkflowWebhookView

router = OptionalSlashRouter()
router.register("schedules", ScheduleViewSet, basename="schedule")

urlpatterns = [
    path("chat/completions", ChatCompletionsView.as_view(), name="chat-completions"),
    path("chat/completions/<uuid:execution_id>", CompletionDetailView.as_view(),
         name="execution-completion"),
    path("resume", ResumeView.as_view(), name="chat-resume"),
    path("workflows/<uuid:pk>/webhook", WorkflowWebhookView.as_view(), name="workflow-webhook"),
    path("hooks/<str:token>", WebhookTriggerView.as_view(), name="webhook-trigger"),
    *router.urls,
]
