"""Node types that exist only for tests: slow and side-effecting nodes to watch a run with.

The test settings list this module in EXTRA_NODE_MODULES, so worker processes started by the
tests register them too.
"""

import time
from pathlib import Path

from workflows.engine import NodeType, default_registry
from workflows.engine.schema import Field


@default_registry.register
class SleepNode(NodeType):
    """Sleeps `ms` milliseconds (in slices, so a cancelled run stops early) and passes data on."""

    type_name = "test_sleep"
    blocking = True
    config_fields = (Field("ms", "int", required=True, min_value=0),)

    def run(self, ctx):
        deadline = time.monotonic() + ctx.config["ms"] / 1000
        while time.monotonic() < deadline and not ctx.cancel_requested():
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return dict(ctx.data)


@default_registry.register
class RecordNode(NodeType):
    """Appends its node id to the file at `path`: a side effect that shows every real run."""

    type_name = "test_record"
    blocking = True
    config_fields = (Field("path", "string", required=True),)

    def run(self, ctx):
        with Path(ctx.config["path"]).open("a") as handle:
            handle.write(ctx.node_id + "\n")
        return dict(ctx.data)
