"""WSGI entry point (HTTP only; WebSocket needs the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_site.settings.base")
application = get_wsgi_application()

from executions.worker import start_embedded_worker  # noqa: E402

start_embedded_worker()
