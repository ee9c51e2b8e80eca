"""start -> llm -> condition -> output, run by a real worker, its tokens streaming live."""

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from executions import services
from executions.models import Execution, NodeRun
from tests.executions.test_websocket import closed_with, connect
from tests.factories import ModelConfigFactory, WorkflowFactory, edge, node
from tests.support.openai_server import text_reply
from tests.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def triage_graph(config_id) -> dict:
    return {
        "nodes": [
            node("start", "start"),
            node("llm-1", "llm", model_config_id=str(config_id),
                 system_prompt="Answer yes or no.", prompt="Is this urgent? {input.ticket}"),
            node("urgent", "condition", expression="contains(lower({llm-1.text}), 'yes')"),
            node("page", "output", mapping={"route": "'on-call'", "why": "{llm-1.text}"}),
            node("queue", "output", mapping={"route": "'queue'"}),
        ],
        "edges": [edge("start", "llm-1"), edge("llm-1", "urgent"),
                  edge("urgent", "page", "true"), edge("urgent", "queue", "false")],
    }


async def test_the_llm_answer_streams_to_the_websocket_and_routes_the_run(openai_server):
    openai_server.push(text_reply("Yes, the database is down.",
                                  chunks=["Yes", ", the database", " is down."]))
    config = await sync_to_async(ModelConfigFactory)(owner=None, base_url=openai_server.base_url)
    workflow = await sync_to_async(WorkflowFactory)(**triage_graph(config.pk))
    worker = await sync_to_async(start_worker)()
    try:
        @sync_to_async
        def create_paused():
            with transaction.atomic():
                execution = services.execution_create(
                    owner=workflow.owner, workflow=workflow,
                    input_data={"ticket": "Checkout fails for everyone"})
                return services.execution_pause(execution=execution)

        execution = await create_paused()
        communicator, _ = await connect(execution.id, str(AccessToken.for_user(workflow.owner)))
        await communicator.receive_json_from(timeout=5)
        fresh = await sync_to_async(Execution.objects.get)(pk=execution.pk)
        await sync_to_async(services.execution_resume)(execution=fresh, by=workflow.owner)
        received = []
        while not received or received[-1]["type"] not in ("completed", "failed"):
            received.append(await communicator.receive_json_from(timeout=20))
        assert await closed_with(communicator) == 1000
    finally:
        await sync_to_async(worker.stop)()

    tokens = [m["data"]["text"] for m in received if m["type"] == "token"]
    assert tokens == ["Yes", ", the database", " is down."]
    assert received[-1]["type"] == "completed", received[-1]
    assert received[-1]["data"]["output_data"] == {"route": "on-call",
                                                   "why": "Yes, the database is down."}
    request = openai_server.requests[-1]
    assert request.json["stream"] is True
    assert request.json["messages"][-1]["content"] == "Is this urgent? Checkout fails for everyone"
    llm_run = await sync_to_async(NodeRun.objects.get)(execution_id=execution.pk, node_id="llm-1")
    assert llm_run.output["usage"]["total_tokens"] > 0
