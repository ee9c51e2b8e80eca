"""WebSocket routes."""

from django.urls import path

from executions.consumers import ExecutionConsumer

websocket_urlpatterns = [
    path("api/v1/ws/executions/<uuid:execution_id>", ExecutionConsumer.as_asgi()),
]
