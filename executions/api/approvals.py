"""`GET /api/v1/approvals`: the pending approvals the user may answer."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from executions.approvals import pending_approvals
from executions.models import NodeRun


class PendingApprovalSerializer(serializers.ModelSerializer):
    """A waiting approval; answer it with POST /executions/{execution_id}/resume."""

    execution_id = serializers.UUIDField(read_only=True)
    workflow_id = serializers.UUIDField(source="execution.workflow_id", read_only=True)
    workflow_name = serializers.CharField(source="execution.workflow.name", read_only=True)
    owner_id = serializers.UUIDField(source="execution.owner_id", read_only=True)
    message = serializers.SerializerMethodField()
    approvers = serializers.SerializerMethodField()
    waiting_since = serializers.DateTimeField(source="started_at", read_only=True)

    class Meta:
        model = NodeRun
        fields = ["id", "execution_id", "workflow_id", "workflow_name", "owner_id", "node_id",
                  "message", "approvers", "waiting_since"]
        read_only_fields = fields

    def get_message(self, run: NodeRun) -> str:
        return (run.output or {}).get("message", "") if isinstance(run.output, dict) else ""

    def get_approvers(self, run: NodeRun) -> list[str]:
        approvers = (run.output or {}).get("approvers") if isinstance(run.output, dict) else None
        return approvers if isinstance(approvers, list) else []


@extend_schema(tags=["executions"])
class PendingApprovalListView(generics.ListAPIView):
    """Approvals waiting for an answer in your executions (admins: everyone's), oldest first."""

    serializer_class = PendingApprovalSerializer
    filter_backends: list = []

    def get_queryset(self):
        return pending_approvals(self.request.user)
