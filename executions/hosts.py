"""Services the platform lends to node types while an execution runs (the engine has none)."""

from .models import Execution


def host_services(execution: Execution) -> dict:
    """The `services` mapping handed to the engine for one execution."""
    return {
        "execution_id": str(execution.pk),
        "owner_id": str(execution.owner_id),
    }
