"""Factories for the test data of every app."""

import itertools

import factory

from accounts.models import Role, User

DEFAULT_PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.USER
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AdminFactory(UserFactory):
    role = Role.ADMIN


def node(node_id: str, node_type: str, parent: str | None = None, **data) -> dict:
    """A React Flow node of the contract's graph format."""
    item = {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}
    if parent:
        item["parentId"] = parent
    return item


def edge(source: str, target: str, handle: str | None = None) -> dict:
    item = {"id": f"{source}->{target}", "source": source, "target": target}
    if handle is not None:
        item["sourceHandle"] = handle
    return item


def chain_graph(*nodes: dict) -> dict:
    """A graph whose nodes run one after the other."""
    return {"nodes": list(nodes),
            "edges": [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]}


def simple_graph() -> dict:
    """start -> transform -> end: doubles `input.x`."""
    return chain_graph(
        node("start", "start"),
        node("double", "transform", mapping={"y": "input.x * 2"}),
        node("end", "end"),
    )


class WorkflowFactory(factory.django.DjangoModelFactory):
    """A workflow with a valid graph and its version 1."""

    class Meta:
        model = "workflows.Workflow"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    description = "A workflow made by a factory"
    nodes = factory.LazyFunction(lambda: simple_graph()["nodes"])
    edges = factory.LazyFunction(lambda: simple_graph()["edges"])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from workflows.services import workflow_create

        status = kwargs.pop("status", None)
        workflow = workflow_create(**kwargs)
        if status:
            workflow.status = status
            workflow.save(update_fields=["status"])
        return workflow


class ExecutionFactory(factory.django.DjangoModelFactory):
    """An execution of a workflow's current version, in any status, without a worker."""

    class Meta:
        model = "executions.Execution"

    workflow = factory.SubFactory(WorkflowFactory)
    owner = factory.LazyAttribute(lambda e: e.workflow.owner)
    workflow_version = factory.LazyAttribute(
        lambda e: e.workflow.versions.get(number=e.workflow.version)
    )
    input_data = factory.LazyFunction(lambda: {"x": 2})


class DataSourceFactory(factory.django.DjangoModelFactory):
    """A data source made through `datasource_create`, so secrets are encrypted as in real use.

    The default is an inline `json` source of three rows; pass `type` and `config` for others.
    """

    class Meta:
        model = "datasources.DataSource"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Data source {n}")
    type = "json"
    description = ""
    config = factory.LazyFunction(
        lambda: {"data": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]}
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from datasources.services import datasource_create

        return datasource_create(**kwargs)


FACTORY_API_KEY = "sk-factory-KEY0123456789abcdef"


class ModelConfigFactory(factory.django.DjangoModelFactory):
    """A model config saved directly (no endpoint checks), its key encrypted as in real use.

    Point it at the scripted server with `base_url=openai_server.base_url`; `owner=None` makes
    a shared config. Pass `key=""` for a config without an API key.
    """

    class Meta:
        model = "agents.ModelConfig"

    class Params:
        key = FACTORY_API_KEY

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Model {n}")
    provider = "openai_compatible"
    base_url = "http://127.0.0.1:9/v1"
    model = "test-model"
    timeout_s = 5.0
    api_key = factory.LazyAttribute(lambda c: _encrypted(c.key))


def _encrypted(plaintext: str) -> str:
    from platform_site.crypto import encrypt

    return encrypt(plaintext) if plaintext else ""


class AgentFactory(factory.django.DjangoModelFactory):
    """An agent made through `agent_create` (so it has its version 1), by default without tools."""

    class Meta:
        model = "agents.Agent"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    description = "An agent made by a factory"
    system_prompt = "You are a helpful assistant."
    model_config = factory.LazyAttribute(lambda a: ModelConfigFactory(owner=a.owner))
    tools = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from agents.services import agent_create

        status = kwargs.pop("status", None)
        agent = agent_create(**kwargs)
        if status:
            agent.status = status
            agent.save(update_fields=["status"])
        return agent


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """An API key made through `api_key_create`; the key itself is on `.key`."""

    class Meta:
        model = "accounts.ApiKey"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Key {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from accounts.api_keys import api_key_create

        made = api_key_create(**kwargs)
        made.api_key.key = made.key
        return made.api_key


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A schedule (every five minutes, UTC) of a workflow of the same owner."""

    class Meta:
        model = "workflows.Schedule"

    owner = factory.SubFactory(UserFactory)
    workflow = factory.LazyAttribute(lambda s: WorkflowFactory(owner=s.owner))
    cron = "*/5 * * * *"
    timezone = "UTC"
    enabled = True
    input_data = factory.LazyFunction(lambda: {"x": 1})

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from workflows.schedules import schedule_create

        kwargs["timezone_name"] = kwargs.pop("timezone")
        return schedule_create(**kwargs)


class ComputeServerFactory(factory.django.DjangoModelFactory):
    """A compute server, online, saved directly (no health check)."""

    class Meta:
        model = "executions.ComputeServer"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"pool-{n}")
    batch_size = 5
    status = "online"


class BatchFactory(factory.django.DjangoModelFactory):
    """A batch not started yet, over `inputs` (by default three), through `batch_create`."""

    class Meta:
        model = "executions.Batch"

    owner = factory.SubFactory(UserFactory)
    workflow = factory.LazyAttribute(lambda b: WorkflowFactory(owner=b.owner))
    inputs = factory.LazyFunction(lambda: [{"x": 1}, {"x": 2}, {"x": 3}])
    start = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from executions.batches import batch_create

        return batch_create(**kwargs)


class UploadFactory(factory.django.DjangoModelFactory):
    """A text file uploaded through `upload_create` (stored under MEDIA_ROOT)."""

    class Meta:
        model = "executions.Upload"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"notes-{n}.txt")
    content = b"hello\n"
    folder = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from executions.uploads import upload_create

        file = SimpleUploadedFile(kwargs.pop("name"), kwargs.pop("content"))
        return upload_create(file=file, **kwargs)
