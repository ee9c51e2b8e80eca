from django.urls import path

from platform_site.api.routers import OptionalSlashRouter

from .views import (
    AgentChatStreamView,
    AgentChatView,
    AgentViewSet,
    ChatSessionViewSet,
    ModelConfigViewSet,
)

router = OptionalSlashRouter()
router.register("model-configs", ModelConfigViewSet, basename="model-config")
router.register("agents", AgentViewSet, basename="agent")
router.register("agent-chat/sessions", ChatSessionViewSet, basename="chat-session")

urlpatterns = [
    *router.urls,
    path("agent-chat/<uuid:agent_id>", AgentChatView.as_view(), name="agent-chat"),
    path("agent-chat/<uuid:agent_id>/stream", AgentChatStreamView.as_view(),
         name="agent-chat-stream"),
]
