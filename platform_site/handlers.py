"""Django's ASGI handler, with the middleware chain and the view run in one thread hop.

Under ASGI Django runs each sync-capable middleware as async code, moving every
`process_request`, `process_view` and `process_response` into the request's sync thread and back:
about fifteen thread hops per request with this project's middleware, a large share of a short
request's time. Every middleware and view here is synchronous, so the whole chain runs as it does
under WSGI, in one hop into the request's sync thread. What happens around it (the request body,
signals, streamed responses) is Django's ASGI handler unchanged.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneHopASGIHandler(ASGIHandler):
    """An ASGI handler whose middleware chain is the synchronous (WSGI) one, called once."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
