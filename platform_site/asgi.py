"""ASGI entry point: HTTP through Django, WebSocket through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_site.settings.base")
django.setup(set_prefix=False)

from .handlers import OneHopASGIHandler  # noqa: E402

django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from executions.worker import start_embedded_worker  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

# The embedded default drains its queue inside this process; a no-op with a real broker.
start_embedded_worker()
