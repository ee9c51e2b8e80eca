"""`GET /health`: the database, the broker, the channel layer and the workers' heartbeat."""

import time
from datetime import timedelta

import dramatiq
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} ok"


def check_broker() -> str:
    broker = dramatiq.get_broker()
    name = type(broker).__name__
    if hasattr(broker, "client"):  # Redis
        broker.client.ping()
    elif name == "RabbitmqBroker":
        broker.connection.process_data_events(time_limit=0)
    return f"{name} ok"


def check_channel_layer() -> str:
    layer = get_channel_layer()

    async def round_trip():
        name = await layer.new_channel(prefix="health.")
        await layer.send(name, {"type": "health.ping"})
        return await layer.receive(name)

    message = async_to_sync(round_trip)()
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")
    return f"{type(layer).__name__} ok"


def check_workers() -> str:
    from executions.models import WorkerHeartbeat

    horizon = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=horizon).count()
    if not alive:
        raise RuntimeError("no worker has sent a heartbeat recently")
    return f"{alive} worker process(es) alive"


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
    "worker": check_workers,
}


class HealthView(APIView):
    """Reports each dependency; 200 when all are fine, 503 naming what is not."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        tags=["health"],
        responses={
            (200, "application/json"): inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(choices=["ok", "unavailable"]),
                    "checks": serializers.DictField(child=serializers.DictField()),
                },
            ),
            (503, "application/json"): inline_serializer(
                "HealthUnavailable",
                {
                    "status": serializers.CharField(),
                    "checks": serializers.DictField(child=serializers.DictField()),
                    "detail": serializers.CharField(),
                    "error_code": serializers.CharField(),
                    "status_code": serializers.IntegerField(),
                },
            ),
        },
    )
    def get(self, request):
        checks = {}
        for name, check in CHECKS.items():
            started = time.perf_counter()
            try:
                checks[name] = {"ok": True, "detail": check()}
            except Exception as exc:
                checks[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
            checks[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        failing = [name for name, result in checks.items() if not result["ok"]]
        if not failing:
            return Response({"status": "ok", "checks": checks})
        return Response(
            {
                "status": "unavailable",
                "checks": checks,
                "detail": "Unavailable: " + ", ".join(failing),
                "error_code": "SERVICE_UNAVAILABLE",
                "status_code": 503,
            },
            status=503,
        )
