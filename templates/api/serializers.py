from rest_framework import serializers

from templates.models import TemplateStatus, WorkflowTemplate


class WorkflowTemplateSerializer(serializers.ModelSerializer):
    """A template as the API shows it."""

    author_id = serializers.UUIDField(read_only=True, allow_null=True)
    is_builtin = serializers.BooleanField(read_only=True)

    class Meta:
        model = WorkflowTemplate
        fields = ["id", "name", "description", "category", "tags", "nodes", "edges", "status",
                  "featured", "is_builtin", "author_id", "times_used", "created_at",
                  "updated_at"]
        read_only_fields = fields


class TemplateListQuerySerializer(serializers.Serializer):
    category = serializers.CharField(required=False, max_length=64)
    search = serializers.CharField(required=False, max_length=200)
    featured = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=TemplateStatus.choices, required=False)
    mine = serializers.BooleanField(required=False, default=False,
                                    help_text="Only the templates you submitted.")


class TemplateSubmitSerializer(serializers.Serializer):
    workflow_id = serializers.UUIDField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True,
                                        allow_null=True, default=None)
    category = serializers.CharField(max_length=64, required=False, default="general")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False,
                                 default=list, max_length=20)


class TemplateUseSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True,
                                        allow_null=True, default=None)
