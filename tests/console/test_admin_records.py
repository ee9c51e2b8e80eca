"""Admin pages of records the API writes, and workflow edits through the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import (
    BatchFactory,
    ComputeServerFactory,
    ExecutionFactory,
    UploadFactory,
    UserFactory,
    WorkflowFactory,
    edge,
    node,
)
from workflows.models import Workflow, WorkflowStatus


@pytest.fixture
def console(db) -> Client:
    client = Client()
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("factory", [BatchFactory, ComputeServerFactory, UploadFactory],
                         ids=["batch", "server", "upload"])
def test_records_are_listed_and_shown_without_a_save_button(console, factory):
    record = factory()
    opts = record._meta
    listing = console.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert listing.status_code == 200
    assert str(record.pk) in listing.content.decode()
    page = console.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                               args=[record.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_an_execution_page_offers_no_save_button(console):
    execution = ExecutionFactory()
    page = console.get(reverse("admin:executions_execution_change", args=[execution.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert 'id="retry-execution"' in page.content.decode()


def _form(workflow: Workflow, **changes) -> dict:
    import json

    data = {"owner": str(workflow.owner_id), "name": workflow.name,
            "description": workflow.description, "nodes": json.dumps(workflow.nodes),
            "edges": json.dumps(workflow.edges), "status": workflow.status,
            "workflowversion_set-TOTAL_FORMS": "0", "workflowversion_set-INITIAL_FORMS": "0",
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "_save": "Save"}
    data.update(changes)
    return data


def test_editing_a_workflow_in_the_admin_makes_a_new_version(console):
    workflow = WorkflowFactory(nodes=[node("start", "start"), node("end", "end")],
                               edges=[edge("start", "end")])
    response = console.post(reverse("admin:workflows_workflow_change", args=[workflow.pk]),
                            _form(workflow, name="Renamed in the admin"))
    assert response.status_code == 302, response.content.decode()[:2000]
    workflow.refresh_from_db()
    assert workflow.name == "Renamed in the admin"
    assert workflow.version == 2
    assert workflow.versions.get(number=2).name == "Renamed in the admin"


def test_publishing_an_invalid_workflow_in_the_admin_is_refused_with_a_message(console):
    workflow = WorkflowFactory(nodes=[node("lonely", "end")], edges=[])
    response = console.post(reverse("admin:workflows_workflow_change", args=[workflow.pk]),
                            _form(workflow, status=WorkflowStatus.PUBLISHED), follow=True)
    assert response.status_code == 200
    workflow.refresh_from_db()
    assert workflow.status == WorkflowStatus.DRAFT
    assert "Status not changed" in response.content.decode()
