"""Services the platform lends to node types while an execution runs (the engine has none)."""

from collections.abc import Callable

from django.conf import settings

from .models import Execution


def host_services(execution: Execution, *, emit_token: Callable[[str, str], None] | None = None
                  ) -> dict:
    """The `services` mapping handed to the engine for one execution."""
    services = {
        "execution_id": str(execution.pk),
        "owner_id": str(execution.owner_id),
        "max_loop_items": settings.MAX_LOOP_ITEMS,
    }
    if emit_token is not None:
        # llm nodes stream their answer into the execution's live events through this.
        services["emit_token"] = emit_token
    return services
