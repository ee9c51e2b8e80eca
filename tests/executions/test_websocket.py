"""The execution WebSocket: auth, ownership, snapshot, ordered events, close at the end."""

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from executions import services
from executions.models import Execution
from platform_site.routing import websocket_urlpatterns
from tests.factories import ExecutionFactory, UserFactory, WorkflowFactory

pytestmark = pytest.mark.django_db(transaction=True)

application = URLRouter(websocket_urlpatterns)


def path(execution_id, token=None) -> str:
    query = f"?token={token}" if token is not None else ""
    return f"/api/v1/ws/executions/{execution_id}{query}"


async def connect(execution_id, token=None) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(application, path(execution_id, token))
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def closed_with(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    return message.get("code")


@sync_to_async
def make_execution(**kwargs):
    execution = ExecutionFactory(**kwargs)
    return execution, str(AccessToken.for_user(execution.owner))


@pytest.mark.parametrize("token", [None, "", "garbage"])
async def test_no_or_bad_token_closes_with_4401(token):
    execution, _ = await make_execution()
    communicator, _ = await connect(execution.id, token)
    assert await closed_with(communicator) == 4401


async def test_another_users_execution_closes_with_4404():
    execution, _ = await make_execution()
    stranger = await sync_to_async(UserFactory)()
    communicator, _ = await connect(execution.id, str(AccessToken.for_user(stranger)))
    assert await closed_with(communicator) == 4404


async def test_a_missing_execution_closes_with_4404():
    _, token = await make_execution()
    communicator, _ = await connect("00000000-0000-0000-0000-000000000000", token)
    assert await closed_with(communicator) == 4404


async def test_connect_sends_the_status_snapshot_and_reconnecting_sends_it_again():
    execution, token = await make_execution(status="running", progress=30,
                                            current_node="double")
    for _ in range(2):
        communicator, connected = await connect(execution.id, token)
        assert connected
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "status"
        assert message["data"] == {"status": "running", "progress": 30,
                                   "current_node": "double"}
        assert isinstance(message["seq"], int)
        await communicator.disconnect()


async def test_a_finished_execution_sends_its_result_and_closes():
    execution, token = await make_execution(status="completed", progress=100,
                                            output_data={"y": 4})
    communicator, _ = await connect(execution.id, token)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "status"
    final = await communicator.receive_json_from(timeout=5)
    assert final["type"] == "completed"
    assert final["data"]["output_data"] == {"y": 4}
    assert await closed_with(communicator) == 1000


async def test_events_arrive_in_order_with_sequence_numbers_and_the_socket_closes(
        running_worker):
    workflow = await sync_to_async(WorkflowFactory)()

    @sync_to_async
    def create_paused():
        # Paused in the creating transaction: the run waits until the subscriber is connected.
        with transaction.atomic():
            execution = services.execution_create(owner=workflow.owner, workflow=workflow,
                                                  input_data={"x": 5})
            return services.execution_pause(execution=execution)

    execution = await create_paused()
    token = str(AccessToken.for_user(workflow.owner))
    communicator, _ = await connect(execution.id, token)
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["data"]["status"] == "waiting"
    fresh = await sync_to_async(Execution.objects.get)(pk=execution.pk)
    await sync_to_async(services.execution_resume)(execution=fresh, by=workflow.owner)

    received = []
    while True:
        message = await communicator.receive_json_from(timeout=15)
        received.append(message)
        if message["type"] in ("completed", "failed", "cancelled"):
            break
    assert await closed_with(communicator) == 1000
    seqs = [m["seq"] for m in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[0] > snapshot["seq"]
    kinds = [(m["type"], m["data"].get("node_id")) for m in received
             if m["type"] in ("node_started", "node_finished")]
    assert kinds == [("node_started", "start"), ("node_finished", "start"),
                     ("node_started", "double"), ("node_finished", "double"),
                     ("node_started", "end"), ("node_finished", "end")]
    assert received[-1]["type"] == "completed"
    assert received[-1]["data"]["output_data"] == {"y": 10}
