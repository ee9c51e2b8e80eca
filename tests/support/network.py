"""Small network helpers for tests."""

import socket


def unused_port() -> int:
    """A localhost port nothing listens on (it was free a moment ago), to provoke refusals."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
