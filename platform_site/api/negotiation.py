"""Content negotiation for endpoints that answer something other than JSON."""

from rest_framework.negotiation import DefaultContentNegotiation


class FirstRendererNegotiation(DefaultContentNegotiation):
    """Always the view's first renderer (JSON), whatever `Accept` or `?format=` say.

    Streams (an SSE client sends `Accept: text/event-stream`) and file exports
    (`?format=csv`) build their own responses; errors still answer JSON.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
