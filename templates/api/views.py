from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from platform_site.api.viewsets import UUID_PATTERN, visible_to
from templates import selectors, services
from workflows.api.serializers import WorkflowSerializer
from workflows.models import Workflow

from .serializers import (
    TemplateListQuerySerializer,
    TemplateSubmitSerializer,
    TemplateUseSerializer,
    WorkflowTemplateSerializer,
)


@extend_schema(tags=["templates"])
class WorkflowTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                              viewsets.GenericViewSet):
    """The template catalogue: browse, use a template, submit a workflow as one."""

    serializer_class = WorkflowTemplateSerializer
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []

    def get_queryset(self):
        if self.action == "list":
            query = TemplateListQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            return selectors.template_list(user=self.request.user, **query.validated_data)
        # Another user's draft is simply not there: 404, never 403.
        return selectors.templates_visible_to(self.request.user)

    @extend_schema(parameters=[TemplateListQuerySerializer])
    def list(self, request, *args, **kwargs):
        """Published templates (featured first) and your own submissions."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TemplateSubmitSerializer, responses={201: WorkflowTemplateSerializer})
    def create(self, request):
        """Submit one of your workflows as a template; it waits as a draft for an operator."""
        serializer = TemplateSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        workflow = get_object_or_404(visible_to(Workflow.objects.all(), request.user),
                                     pk=data.pop("workflow_id"))
        template = services.template_submit(author=request.user, workflow=workflow, **data)
        return Response(WorkflowTemplateSerializer(template).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TemplateUseSerializer,
        parameters=[OpenApiParameter("name", str, required=False),
                    OpenApiParameter("description", str, required=False)],
        responses={201: WorkflowSerializer},
    )
    @action(detail=True, methods=["post"], url_path="create")
    def create_workflow(self, request, pk=None):
        """A new workflow of yours made from the template (name and description optional)."""
        template = self.get_object()
        # The seeds pass name/description in the query string; a JSON body works too.
        raw = {**{k: v for k, v in request.query_params.items() if k in ("name", "description")},
               **(request.data if isinstance(request.data, dict) else {})}
        serializer = TemplateUseSerializer(data=raw)
        serializer.is_valid(raise_exception=True)
        workflow = services.template_create_workflow(
            template=template, owner=request.user,
            name=serializer.validated_data.get("name") or None,
            description=serializer.validated_data.get("description"),
        )
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)
