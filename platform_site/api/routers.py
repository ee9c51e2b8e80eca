"""The router of every app: paths work with and without a trailing slash."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """`/api/v1/workflows` and `/api/v1/workflows/` both route, as clients of the seeds expect."""

    def __init__(self) -> None:
        super().__init__(trailing_slash=True)
        self.trailing_slash = "/?"
