"""WebSocket subscribers of one execution: a snapshot on connect, then forwarded events."""

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from . import events, selectors

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _user_for_token(token: str):
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        return auth.get_user(auth.get_validated_token(token))
    except (InvalidToken, TokenError, Exception):
        return None


@database_sync_to_async
def _snapshot(execution_id: str, user):
    return selectors.execution_snapshot(execution_id=execution_id, user=user)


class ExecutionConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the live events of one execution to its owner (or an admin)."""

    async def connect(self) -> None:
        # Custom close codes need an accepted socket: accept, then check and close if refused.
        await self.accept()
        self.group = None
        self.user = None
        self.last_seq = -1
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        user = await _user_for_token(token) if token else None
        if user is None or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        if await _snapshot(execution_id, user) is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if isinstance(self.channel_layer, InMemoryChannelLayer):
            events.publisher.home_loop = asyncio.get_running_loop()
        self.group = events.group_name(execution_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # Read the snapshot after subscribing, so no event falls between the two.
        snapshot = await _snapshot(execution_id, user)
        self.last_seq = snapshot["seq"]
        await self.send_json({"type": "status", "seq": snapshot["seq"],
                              "data": snapshot["status"]})
        if snapshot["terminal"]:
            await self.send_json({"type": snapshot["status"]["status"], "seq": snapshot["seq"],
                                  "data": snapshot["result"]})
            await self.close(code=1000)

    async def disconnect(self, code) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def execution_events(self, message: dict) -> None:
        for event in message["events"]:
            if event["seq"] <= self.last_seq:
                continue  # Already reflected in the snapshot this client got.
            self.last_seq = event["seq"]
            await self.send_json(event)
            if event["type"] in events.TERMINAL_EVENTS:
                await self.close(code=1000)
                return

    async def receive_json(self, content, **kwargs) -> None:
        """Clients only listen; a message from them is answered with the current status."""
        execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        if self.user is None:
            return
        snapshot = await _snapshot(execution_id, self.user)
        if snapshot:
            await self.send_json({"type": "status", "seq": snapshot["seq"],
                                  "data": snapshot["status"]})
