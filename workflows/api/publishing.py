"""The API of published workflows: `chat/completions`, `resume` and a completion's result.

These endpoints take an API key (`Bearer cfx_...`) as well as a JWT.
"""

from collections.abc import Iterator

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import PUBLISHED_API_AUTHENTICATION, authenticated_by_key
from agents.streaming import async_frames
from executions.following import SETTLED_STATUSES, End, ExecutionFollower
from executions.models import Execution
from platform_site.api.negotiation import FirstRendererNegotiation
from platform_site.api.viewsets import visible_to
from workflows import publishing
from workflows.models import WorkflowStatus

STREAM_DESCRIPTION = (
    "Server-Sent Events in OpenAI's `chat.completion.chunk` shape (`data: {...}` lines, last "
    "`data: [DONE]`). Every chunk carries `execution_id`; progress chunks have an empty `delta` "
    "and a `conflux` object `{event: node_started|node_finished|node_failed|token, node_id, "
    "...}`; the answer comes as `delta.content`; the last chunk has `finish_reason` (`stop`, "
    "`error`, `cancelled`, `interrupt` or null on timeout) and `conflux` `{event: completed|"
    "failed|cancelled|interrupt|waiting|timeout, ...}` (an interrupt carries `event_id`, "
    "`event_type`, `node_id`, `message` for `POST /resume`)."
)


class HistoryMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant", "system"])
    content = serializers.CharField(max_length=100_000, allow_blank=True, trim_whitespace=False)
    content_type = serializers.ChoiceField(choices=["text", "image", "audio"], default="text")


class ChatCompletionRequestSerializer(serializers.Serializer):
    flow_id = serializers.UUIDField(help_text="The id of a published workflow of yours.")
    stream = serializers.BooleanField(default=False)
    parameters = serializers.DictField(required=False, default=dict,
                                       help_text="The run's input_data.")
    chat_id = serializers.CharField(required=False, max_length=200)
    history = HistoryMessageSerializer(many=True, required=False, max_length=200)


class ResumeRequestSerializer(serializers.Serializer):
    event_id = serializers.UUIDField(help_text="The `event_id` of the interrupt.")
    event_type = serializers.ChoiceField(
        choices=[publishing.RESUME_ANSWER, publishing.RESUME_IGNORE, publishing.RESUME_ABORT],
        default=publishing.RESUME_ANSWER,
        help_text="`resume` answers with `content`, `ignore` goes on without an answer, "
                  "`abort` cancels the run.")
    content = serializers.JSONField(required=False, default=None,
                                    help_text="The answer (text or an object).")
    stream = serializers.BooleanField(default=False)


class InterruptSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    node_id = serializers.CharField()
    node_type = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField()


class CompletionMessageSerializer(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()


class CompletionChoiceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    message = CompletionMessageSerializer()
    finish_reason = serializers.CharField(allow_null=True)


class CompletionSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The execution's id.")
    object = serializers.CharField()
    created = serializers.IntegerField()
    model = serializers.CharField(help_text="The workflow's id.")
    execution_id = serializers.UUIDField()
    status = serializers.CharField()
    choices = CompletionChoiceSerializer(many=True)
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    interrupt = InterruptSerializer(allow_null=True)
    timed_out = serializers.BooleanField()


COMPLETION_RESPONSES = {
    (200, "application/json"): OpenApiResponse(
        CompletionSerializer, description="The run ended or was interrupted (`stream: false`)."),
    (202, "application/json"): OpenApiResponse(
        CompletionSerializer, description="Still running when the wait ended: poll "
        "`GET /chat/completions/{execution_id}`."),
    (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR,
                                                description=STREAM_DESCRIPTION),
}


class _Frames:
    """Frames of a stream that stop the follower when closed, even if never iterated."""

    def __init__(self, frames: Iterator[bytes], follower: ExecutionFollower) -> None:
        self.frames = frames
        self.follower = follower

    def __iter__(self) -> "_Frames":
        return self

    def __next__(self) -> bytes:
        return next(self.frames)

    def close(self) -> None:
        self.frames.close()
        self.follower.close()


def stream_response(request, frames: _Frames) -> StreamingHttpResponse:
    """A `text/event-stream` response of ready frames, streamed by WSGI and ASGI servers."""
    django_request = getattr(request, "_request", request)
    content = async_frames(frames) if isinstance(django_request, ASGIRequest) else frames
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the whole stream
    return response


def _answer(request, execution: Execution, follower: ExecutionFollower, *, stream: bool):
    timeout = settings.PUBLISHED_WAIT_TIMEOUT_S
    if stream:
        frames = publishing.completion_stream(execution=execution, follower=follower,
                                              timeout=timeout)
        return stream_response(request, _Frames(frames, follower))
    end = follower.wait(timeout=timeout)
    return Response(publishing.completion_body(end), status=202 if end.timed_out else 200)


class PublishedAPIView(APIView):
    """Endpoints of published workflows: an API key or a JWT."""

    authentication_classes = PUBLISHED_API_AUTHENTICATION
    content_negotiation_class = FirstRendererNegotiation


@extend_schema(tags=["published"])
class ChatCompletionsView(PublishedAPIView):
    """Run one of your published workflows, OpenAI chat-completions style."""

    @extend_schema(request=ChatCompletionRequestSerializer, responses=COMPLETION_RESPONSES)
    def post(self, request):
        serializer = ChatCompletionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow = publishing.published_workflow(user=request.user, flow_id=data["flow_id"],
                                                 by_key=authenticated_by_key(request))
        execution, follower = publishing.completion_start(
            user=request.user, workflow=workflow, parameters=data["parameters"],
            chat_id=data.get("chat_id"), history=data.get("history"))
        return _answer(request, execution, follower, stream=data["stream"])


@extend_schema(tags=["published"])
class ResumeView(PublishedAPIView):
    """Answer an interrupted run (`event_id` from its interrupt) and follow it again."""

    @extend_schema(request=ResumeRequestSerializer, responses=COMPLETION_RESPONSES)
    def post(self, request):
        serializer = ResumeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        execution, follower = publishing.completion_resume(
            user=request.user, event_id=data["event_id"], event_type=data["event_type"],
            content=data["content"], by_key=authenticated_by_key(request))
        return _answer(request, execution, follower, stream=data["stream"])


@extend_schema(tags=["published"])
class CompletionDetailView(PublishedAPIView):
    """How a completion stands: 200 once it ended or was interrupted, 202 while it runs."""

    @extend_schema(responses={200: CompletionSerializer, 202: CompletionSerializer})
    def get(self, request, execution_id):
        if authenticated_by_key(request):
            executions = Execution.objects.filter(owner=request.user,
                                                  workflow__status=WorkflowStatus.PUBLISHED)
        else:
            executions = visible_to(Execution.objects.all(), request.user)
        row = executions.filter(pk=execution_id).first()
        if row is None:
            raise NotFound("Execution not found.")
        settled = row.status in SETTLED_STATUSES
        return Response(publishing.completion_body(End(row, timed_out=not settled)),
                        status=200 if settled else 202)
