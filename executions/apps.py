from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"

    def ready(self) -> None:
        # Declaring the actors registers their queue with the broker, so that the in-process
        # worker of the embedded default consumes it and the web process can enqueue to it.
        from . import actors  # noqa: F401
