from django.db.models import Q
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.llm import PROVIDERS
from agents.models import Agent, AgentStatus, AgentVersion, ChatMessage
from agents.streaming import sse_response
from agents.tools_host import tool_catalog
from platform_site.api.pagination import SkipLimitPagination
from platform_site.api.throttles import ChatRateThrottle
from platform_site.api.viewsets import UUID_PATTERN, MessageSerializer, OwnedModelViewSet

from .serializers import (
    AgentExportSerializer,
    AgentImportSerializer,
    AgentListQuerySerializer,
    AgentSerializer,
    AgentVersionSerializer,
    AgentWriteSerializer,
    ChatMessageSerializer,
    ChatReplySerializer,
    ChatRequestSerializer,
    ChatSessionDetailSerializer,
    ChatSessionSerializer,
    ModelConfigSerializer,
    ModelConfigTestResultSerializer,
    ModelConfigWriteSerializer,
    ProviderSerializer,
    SessionListQuerySerializer,
    ToolSerializer,
)

# -- model configs ---------------------------------------------------------------------------


@extend_schema(tags=["model-configs"])
class ModelConfigViewSet(OwnedModelViewSet):
    """Model configs: the user's own plus the shared ones (which only admins change)."""

    serializer_class = ModelConfigSerializer
    filter_backends: list = []
    deleted_message = "Model config deleted."

    def get_queryset(self):
        # Not the owner-only narrowing of the base: shared configs are visible to everyone.
        return selectors.model_configs_visible_to(self.request.user)

    def _require_change_rights(self, config) -> None:
        if config.is_shared and not self.request.user.is_platform_admin:
            raise PermissionDenied("Shared model configs are managed by admins.")

    @extend_schema(request=ModelConfigWriteSerializer, responses={201: ModelConfigSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ModelConfigWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shared = data.pop("shared", False)
        if shared and not request.user.is_platform_admin:
            raise PermissionDenied("Only admins can create shared model configs.")
        data["api_key"] = data.get("api_key") or ""
        config = services.model_config_create(owner=None if shared else request.user, **data)
        return Response(ModelConfigSerializer(config).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelConfigWriteSerializer, responses={200: ModelConfigSerializer})
    def update(self, request, *args, **kwargs):
        config = self.get_object()
        self._require_change_rights(config)
        serializer = ModelConfigWriteSerializer(data=request.data,
                                                partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shared = data.pop("shared", None)
        if shared is not None and shared != config.is_shared:
            if not request.user.is_platform_admin:
                raise PermissionDenied("Only admins can share model configs.")
            data["owner"] = None if shared else request.user
        config = services.model_config_update(config=config, **data)
        return Response(ModelConfigSerializer(config).data)

    @extend_schema(request=ModelConfigWriteSerializer, responses={200: ModelConfigSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance) -> None:
        self._require_change_rights(instance)
        services.model_config_delete(config=instance)

    @extend_schema(request=None, responses={200: ModelConfigTestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Check that the endpoint answers and knows the model."""
        return Response(services.model_config_test(config=self.get_object()))

    @extend_schema(responses={200: ProviderSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def providers(self, request):
        """The OpenAI-compatible providers a config may name."""
        return Response([
            {"name": spec.name, "label": spec.label, "default_base_url": spec.default_base_url,
             "requires_api_key": spec.requires_api_key}
            for spec in PROVIDERS.values()
        ])


# -- agents ----------------------------------------------------------------------------------


def _agent_queryset():
    return Agent.objects.select_related("model_config", "model_config__owner", "owner")


def _chat(request, agent: Agent) -> Response:
    serializer = ChatRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    turn = services.chat_turn_begin(agent=agent, user=request.user,
                                    message=serializer.validated_data["message"],
                                    session_id=serializer.validated_data.get("session_id"))
    return Response(services.chat_turn_complete(turn=turn).to_dict())


@extend_schema(tags=["agents"])
class AgentViewSet(OwnedModelViewSet):
    """Agents of the requesting user: CRUD with versions, deploy/stop, copy, export, run."""

    queryset = _agent_queryset()
    serializer_class = AgentSerializer
    filter_backends: list = []
    deleted_message = "Agent deleted."

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        query = AgentListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if params.get("search"):
            queryset = queryset.filter(Q(name__icontains=params["search"])
                                       | Q(description__icontains=params["search"]))
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        return queryset

    @extend_schema(parameters=[AgentListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AgentWriteSerializer, responses={201: AgentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = AgentWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        agent = services.agent_create(owner=request.user, **serializer.validated_changes())
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AgentWriteSerializer, responses={200: AgentSerializer})
    def update(self, request, *args, **kwargs):
        agent = self.get_object()
        serializer = AgentWriteSerializer(data=request.data, context={"request": request},
                                          partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        agent = services.agent_update(
            agent=agent, author=request.user,
            comment=serializer.validated_data.get("comment", ""),
            **serializer.validated_changes(),
        )
        return Response(AgentSerializer(agent).data)

    @extend_schema(request=AgentWriteSerializer, responses={200: AgentSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance) -> None:
        services.agent_delete(agent=instance)

    @extend_schema(request=None, responses={200: AgentSerializer})
    @action(detail=True, methods=["post"])
    def deploy(self, request, pk=None):
        """Put the agent in service; it needs a usable model config (422 otherwise)."""
        agent = services.agent_set_status(agent=self.get_object(), status=AgentStatus.DEPLOYED)
        return Response(AgentSerializer(agent).data)

    @extend_schema(request=None, responses={200: AgentSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Take the agent out of service: chat and execute answer 409 until it is deployed."""
        agent = services.agent_set_status(agent=self.get_object(), status=AgentStatus.STOPPED)
        return Response(AgentSerializer(agent).data)

    @extend_schema(request=None, responses={201: AgentSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        """A new draft copy of the agent, owned by the caller."""
        agent = services.agent_duplicate(agent=self.get_object(), owner=request.user)
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: AgentExportSerializer})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """A portable document of the agent that `import` reads back (no secrets)."""
        return Response(services.agent_export(agent=self.get_object()))

    @extend_schema(request=AgentImportSerializer, responses={201: AgentSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_(self, request):
        """Create a new draft agent from an exported document."""
        serializer = AgentImportSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        agent = services.agent_import(owner=request.user, data=serializer.agent_data())
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChatRequestSerializer, responses={200: ChatReplySerializer})
    @action(detail=True, methods=["post"], throttle_classes=[ChatRateThrottle])
    def execute(self, request, pk=None):
        """Run the agent on a message to the end: `{text, steps, usage, session_id}`."""
        return _chat(request, self.get_object())

    @extend_schema(responses={200: AgentVersionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=SkipLimitPagination)
    def versions(self, request, pk=None):
        """The versions of the agent, newest first."""
        queryset = AgentVersion.objects.filter(agent=self.get_object()).order_by("-number")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AgentVersionSerializer(page, many=True).data)

    @extend_schema(responses={200: AgentVersionSerializer})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version_detail(self, request, pk=None, number=None):
        """One version's snapshot."""
        try:
            version = AgentVersion.objects.get(agent=self.get_object(), number=int(number))
        except (ValueError, AgentVersion.DoesNotExist) as exc:
            raise Http404 from exc
        return Response(AgentVersionSerializer(version).data)

    @extend_schema(responses={200: ToolSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def tools(self, request):
        """The tools an agent may list in `tools`."""
        return Response(tool_catalog())


# -- chat ------------------------------------------------------------------------------------


class FirstRendererNegotiation(DefaultContentNegotiation):
    """JSON for errors whatever the Accept header: an SSE client sends text/event-stream."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _agent_or_404(request, agent_id) -> Agent:
    agent = selectors.agent_for(user=request.user, agent_id=agent_id)
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


@extend_schema(tags=["agent-chat"])
class AgentChatView(APIView):
    """Send a message to an agent and get its whole answer."""

    throttle_classes = [ChatRateThrottle]

    @extend_schema(request=ChatRequestSerializer, responses={200: ChatReplySerializer})
    def post(self, request, agent_id):
        return _chat(request, _agent_or_404(request, agent_id))


@extend_schema(tags=["agent-chat"])
class AgentChatStreamView(APIView):
    """Send a message to an agent and get its answer as Server-Sent Events."""

    content_negotiation_class = FirstRendererNegotiation
    throttle_classes = [ChatRateThrottle]

    @extend_schema(
        request=ChatRequestSerializer,
        responses={(200, "text/event-stream"): OpenApiResponse(
            OpenApiTypes.STR,
            description="Events `token` {text}, `tool_call` {id, name, arguments}, "
                        "`tool_result` {id, name, result, is_error}, then `done` {text, usage, "
                        "steps, session_id, message_id} or `error` {message, code, "
                        "status_code, session_id}.",
        )},
    )
    def post(self, request, agent_id):
        agent = _agent_or_404(request, agent_id)
        serializer = ChatRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Everything that can fail before the first byte answers a JSON error instead.
        turn = services.chat_turn_begin(agent=agent, user=request.user,
                                        message=serializer.validated_data["message"],
                                        session_id=serializer.validated_data.get("session_id"))
        return sse_response(request, services.chat_turn_stream(turn=turn),
                            headers={"X-Session-Id": str(turn.session.pk)})


@extend_schema(tags=["agent-chat"])
class ChatSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Chat sessions of the requesting user, with their messages."""

    serializer_class = ChatSessionSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []

    def get_queryset(self):
        agent_id = None
        if self.action == "list":
            query = SessionListQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            agent_id = query.validated_data.get("agent_id")
        queryset = selectors.chat_sessions_visible_to(self.request.user, agent_id=agent_id)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("messages")
        return queryset

    def get_serializer_class(self):
        return ChatSessionDetailSerializer if self.action == "retrieve" else ChatSessionSerializer

    @extend_schema(parameters=[SessionListQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: MessageSerializer})
    def destroy(self, request, *args, **kwargs):
        self.get_object().delete()
        return Response({"message": "Chat session deleted."})

    @extend_schema(responses={200: ChatMessageSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=SkipLimitPagination)
    def messages(self, request, pk=None):
        """The session's messages, oldest first."""
        queryset = ChatMessage.objects.filter(session=self.get_object()).order_by("created_at",
                                                                                 "id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ChatMessageSerializer(page, many=True).data)

