"""Node types that exist only for tests: slow and side-effecting nodes to watch a run with.

The test settings list this module in EXTRA_NODE_MODULES, so worker processes started by the
tests register them too.
"""

import time
from pathlib import Path

from workflows.engine import NodeError, NodeType, default_registry
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


@default_registry.register
class NulNode(NodeType):
    """Produces text holding NUL characters, as a response from the outside world can.

    It logs such a line and outputs such text; with `fail` it fails with such a message.
    """

    type_name = "test_nul"
    config_fields = (Field("fail", "bool"),)

    def run(self, ctx):
        ctx.log("info", "read a\x00b", raw="c\x00d")
        if ctx.config.get("fail"):
            raise NodeError("the remote end said e\x00f")
        return {"text": "a\x00b", "nested": [{"k\x00": "\x00"}], "escaped": "\\u0000"}
