"""Webhooks: `POST /workflows/{id}/webhook` makes a secret URL, `POST /hooks/{token}` calls it."""

import json

from django.conf import settings
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ParseError, UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from platform_site.api.errors import PayloadTooLarge
from platform_site.api.parsers import holds_nul, refuse_constant
from platform_site.api.viewsets import MessageSerializer, visible_to
from workflows import webhooks
from workflows.models import WebhookTrigger, Workflow


class WebhookConfigSerializer(serializers.Serializer):
    wait = serializers.BooleanField(
        default=False, help_text="Answer with the run's result (up to timeout_s) instead of 202.")
    timeout_s = serializers.IntegerField(default=30, min_value=1)

    def validate_timeout_s(self, value: int) -> int:
        if value > settings.WEBHOOK_MAX_WAIT_S:
            raise serializers.ValidationError(
                f"At most {settings.WEBHOOK_MAX_WAIT_S} seconds.")
        return value


class WebhookInfoSerializer(serializers.ModelSerializer):
    """A webhook as it is stored: the token itself is not (only its first characters)."""

    workflow_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = WebhookTrigger
        fields = ["workflow_id", "token_prefix", "wait", "timeout_s", "created_at",
                  "last_called_at"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookInfoSerializer):
    url = serializers.CharField(help_text="The secret URL to call: shown this once.")
    token = serializers.CharField(help_text="The secret in the URL: shown this once.")

    class Meta(WebhookInfoSerializer.Meta):
        fields = ["url", "token", *WebhookInfoSerializer.Meta.fields]
        read_only_fields = fields


class HookAcceptedSerializer(serializers.Serializer):
    execution_id = serializers.UUIDField()
    status = serializers.CharField()


class HookResultSerializer(HookAcceptedSerializer):
    output_data = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)


@extend_schema(tags=["webhooks"])
class WorkflowWebhookView(APIView):
    """The webhook of one of your workflows: see it, make a new secret URL, or remove it."""

    def _workflow(self, request, pk) -> Workflow:
        return get_object_or_404(visible_to(Workflow.objects.all(), request.user), pk=pk)

    @extend_schema(responses={200: WebhookInfoSerializer})
    def get(self, request, pk):
        hook = WebhookTrigger.objects.filter(workflow=self._workflow(request, pk)).first()
        if hook is None:
            raise NotFound("The workflow has no webhook.")
        return Response(WebhookInfoSerializer(hook).data)

    @extend_schema(request=WebhookConfigSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request, pk):
        """A new secret URL (calling the old one stops working), with its configuration."""
        workflow = self._workflow(request, pk)
        serializer = WebhookConfigSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hook, token = webhooks.webhook_rotate(workflow=workflow, **serializer.validated_data)
        url = request.build_absolute_uri(reverse("webhook-trigger", kwargs={"token": token}))
        return Response({"url": url, "token": token, **WebhookInfoSerializer(hook).data},
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: MessageSerializer})
    def delete(self, request, pk):
        if not webhooks.webhook_delete(workflow=self._workflow(request, pk)):
            raise NotFound("The workflow has no webhook.")
        return Response({"message": "Webhook removed."})


class WebhookThrottle(SimpleRateThrottle):
    """Calls of one webhook (WEBHOOK_RATE), counted by its token's hash."""

    scope = "webhooks"

    def get_rate(self) -> str:
        return settings.WEBHOOK_RATE

    def get_cache_key(self, request, view) -> str:
        ident = webhooks.token_hash(view.kwargs.get("token", ""))[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WebhookAddressThrottle(SimpleRateThrottle):
    """Webhook calls from one client address (WEBHOOK_ADDRESS_RATE), e.g. guessing tokens."""

    scope = "webhooks_address"

    def get_rate(self) -> str:
        return settings.WEBHOOK_ADDRESS_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _body(request):
    """The call's body: JSON, a form, or text; capped at WEBHOOK_MAX_BODY_BYTES."""
    body = _parsed_body(request)
    if holds_nul(body):  # PostgreSQL stores no NUL: refuse it here rather than fail at the save
        raise ParseError("The body may not contain the NUL character (\\u0000).")
    return body


def _parsed_body(request):
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_large = PayloadTooLarge(f"The body is larger than {limit} bytes.",
                                error_code="PAYLOAD_TOO_LARGE")
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            raise too_large
    except ValueError:
        pass
    raw = request.body
    if len(raw) > limit:
        raise too_large
    if not raw.strip():
        return {}
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(raw)
        return {key: values[0] if len(values) == 1 else values for key, values in form.lists()}
    if content_type in ("", "application/json") or content_type.endswith("+json"):
        try:
            return json.loads(raw, parse_constant=refuse_constant)
        except (ValueError, RecursionError):
            raise ParseError("The body is not valid JSON.") from None
    if content_type.startswith("text/"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None
    raise UnsupportedMediaType(content_type)


@extend_schema(tags=["webhooks"], auth=[])
class WebhookTriggerView(APIView):
    """Start the workflow behind a secret URL: the body (JSON) is the run's input_data."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookAddressThrottle, WebhookThrottle]

    @extend_schema(
        request={"application/json": OpenApiTypes.ANY},
        responses={
            202: OpenApiResponse(HookAcceptedSerializer, description="The run has started "
                                 "(or, for a waiting webhook, is still running)."),
            200: OpenApiResponse(HookResultSerializer, description="The run's result, for a "
                                 "webhook configured to wait."),
        },
    )
    def post(self, request, token):
        hook = webhooks.webhook_for_token(token)
        if hook is None:
            raise NotFound("No webhook at this URL.")
        execution, follower = webhooks.webhook_call(hook=hook, body=_body(request))
        if follower is None:
            return Response({"execution_id": str(execution.pk), "status": execution.status},
                            status=status.HTTP_202_ACCEPTED)
        end = follower.wait(timeout=min(hook.timeout_s, settings.WEBHOOK_MAX_WAIT_S))
        row = end.execution
        if end.timed_out:
            return Response({"execution_id": str(row.pk), "status": row.status},
                            status=status.HTTP_202_ACCEPTED)
        return Response({"execution_id": str(row.pk), "status": row.status,
                         "output_data": row.output_data, "error": row.error or None})
