"""The `approval` node type: the run waits (status `waiting`) until someone approves or rejects.

Nothing is held in memory while it waits: the node raises `Suspend`, the worker records the
node as a `waiting` NodeRun (that row is the pending approval) and lets go of the execution.
`POST /api/v1/executions/{id}/resume {node_id, content: {approved, comment}}` (or the admin's
approval queue) answers it through `resume_output`, and any worker continues the run from its
checkpoint, so a restart of every process in between loses nothing.

Config: `message` (a template shown to approvers), `approvers` (optional usernames; admins may
always answer), `on_reject` ("branch", the default: take the "rejected" edge; "fail": end the
run). Output `{approved, comment, by}` on the "approved" or "rejected" handle; a rejection with
no "rejected" edge fails the run with "Rejected by <user>: <comment>".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.engine import (
    Compiler,
    Field,
    Issue,
    NodeContext,
    NodeError,
    NodeType,
    Suspend,
    default_registry,
)
from workflows.engine.graph import Node

APPROVED = "approved"
REJECTED = "rejected"
MAX_COMMENT = 2000


def _is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_platform_admin", False))


def rejection_message(by: str, comment: str) -> str:
    """The error of a run ended by a rejection."""
    return f"Rejected by {by}: {comment}" if comment else f"Rejected by {by}."


@default_registry.register
class ApprovalNode(NodeType):
    """Waits for a person to approve or reject; routes by the "approved"/"rejected" handle."""

    type_name = "approval"
    description = ("Pauses the run until someone approves or rejects it (resume with "
                   "{approved, comment}); outputs {approved, comment, by} on the 'approved' or "
                   "'rejected' handle. A rejection without a 'rejected' edge, or with on_reject "
                   "'fail', fails the run.")
    output_handles = (APPROVED, REJECTED)
    required_handles = (APPROVED,)
    config_fields = (
        Field("message", "template", required=True,
              description="What the approvers are asked, e.g. 'Send {input.amount} EUR?'"),
        Field("approvers", "list", default=[],
              description="Usernames allowed to answer (empty: the owner); admins always may"),
        Field("on_reject", "enum", default="branch", choices=("branch", "fail"),
              description="branch: follow the 'rejected' edge (fail when there is none); "
                          "fail: a rejection ends the run failed"),
    )

    def validate_config(self, config: Mapping[str, Any], compiler: Compiler | None = None
                        ) -> list[Issue]:
        """Schema checks plus approvers being usernames."""
        issues = super().validate_config(config, compiler)
        approvers = config.get("approvers")
        if isinstance(approvers, list) and not all(
                isinstance(name, str) and name.strip() for name in approvers):
            issues.append(Issue(None, "INVALID_CONFIG",
                                "'approvers' must be a list of usernames."))
        return issues

    def run(self, ctx: NodeContext) -> dict[str, Any]:
        """Ask: suspend the run with the rendered message (never returns)."""
        message = ctx.render(ctx.config["message"])
        approvers = [name.strip() for name in ctx.config.get("approvers") or []]
        raise Suspend(message, data={"message": message, "approvers": approvers,
                                     "awaiting": "approval"})

    @staticmethod
    def resume_output(node: Node, content: Any, by: Any) -> tuple[dict[str, Any], list[str]]:
        """Turn an answer `{approved, comment}` into the output and the handle to follow.

        Raises PermissionDenied when `by` is not among the approvers, ValidationError for a
        malformed answer and NodeError for a rejection that ends the run (on_reject "fail").
        """
        from rest_framework.exceptions import PermissionDenied, ValidationError

        if not isinstance(content, Mapping) or not isinstance(content.get("approved"), bool):
            raise ValidationError({"content": [
                'An approval is answered with {"approved": true|false, "comment": "..."}.']})
        comment = content.get("comment") or ""
        if not isinstance(comment, str):
            raise ValidationError({"content": ["'comment' must be text."]})
        approvers = [name.strip() for name in node.data.get("approvers") or []
                     if isinstance(name, str)]
        username = getattr(by, "username", None) or str(by)
        if approvers and username not in approvers and not _is_admin(by):
            raise PermissionDenied(
                f"Only {', '.join(approvers)} (or an admin) may answer this approval.")
        output = {"approved": content["approved"], "comment": comment[:MAX_COMMENT],
                  "by": username}
        if content["approved"]:
            return output, [APPROVED]
        if node.data.get("on_reject") == "fail":
            raise NodeError(rejection_message(username, output["comment"]))
        return output, [REJECTED]

    @staticmethod
    def unrouted_error(output: Mapping[str, Any]) -> str:
        """The run's error when the answer chose a branch the graph does not have."""
        return rejection_message(str(output.get("by")), str(output.get("comment") or ""))
