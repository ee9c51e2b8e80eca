"""`import_workflows` and `export_workflows`: good, duplicate and broken files, exit status."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import UserFactory, WorkflowFactory, chain_graph, node, simple_graph
from workflows.models import Workflow
from workflows.services import workflow_export

pytestmark = pytest.mark.django_db


def document(name: str, graph: dict | None = None) -> dict:
    graph = graph or simple_graph()
    return {"workflow": {"name": name, "description": "", **graph},
            "exported_at": "2026-01-01T00:00:00+00:00", "format_version": 1}


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_folder_with_good_duplicate_and_broken_files(tmp_path):
    owner = UserFactory(username="importer")
    existing = WorkflowFactory(owner=owner, name="Already here")
    folder = tmp_path / "exports"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.json").write_text(json.dumps(document("Good one")))
    (folder / "nested" / "also-good.json").write_text(json.dumps(
        document("Needs work", chain_graph(node("a", "no-such-type")))))
    (folder / "duplicate.json").write_text(json.dumps(workflow_export(workflow=existing)))
    (folder / "broken.json").write_text("{ this is not json")
    (folder / "wrong-shape.json").write_text(json.dumps({"nodes": []}))
    (folder / "too-new.json").write_text(json.dumps({**document("Future"),
                                                     "format_version": 99}))
    (folder / "no-name.json").write_text(json.dumps({"workflow": {"nodes": []}}))
    (folder / "notes.txt").write_text("ignored: not json")

    out, err = run("import_workflows", str(folder), "--owner", "importer")

    assert "Imported 2, skipped 1 (duplicates), invalid 4" in out
    assert "duplicate.json: 'Already here' already exists" in out
    assert "also-good.json: imported as a draft that cannot run yet" in out
    for name, reason in (("broken.json", "not valid JSON"),
                         ("wrong-shape.json", "not an exported workflow"),
                         ("too-new.json", "Format version 99 is newer"),
                         ("no-name.json", "name")):
        line = next(line for line in err.splitlines() if name in line)
        assert reason in line, line
    assert "[##############################] 7/7" in out  # the progress bar reached the end
    names = set(Workflow.objects.filter(owner=owner).values_list("name", flat=True))
    assert names == {"Already here", "Good one", "Needs work"}
    # Running it again imports nothing new: everything is a duplicate now.
    out, _ = run("import_workflows", str(folder), "--owner", "importer")
    assert "Imported 0, skipped 3 (duplicates), invalid 4" in out


def test_files_holding_what_json_or_the_database_cannot_hold_are_reported(tmp_path):
    owner = UserFactory(username="importer")
    graph = chain_graph(node("s", "start"), node("t", "transform", mapping={"v": "1"}))
    (tmp_path / "good.json").write_text(json.dumps(document("Fine", graph)))
    graph["nodes"][1]["data"]["note"] = float("nan")
    (tmp_path / "nan.json").write_text(json.dumps(document("With NaN", graph)))
    graph["nodes"][1]["data"]["note"] = "a\x00b"
    (tmp_path / "nul.json").write_text(json.dumps(document("With NUL", graph)))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)

    out, err = run("import_workflows", str(tmp_path), "--owner", "importer")

    assert "Imported 1, skipped 0 (duplicates), invalid 3" in out
    assert "deep.json: not valid JSON" in err
    assert "nan.json: not valid JSON (NaN is not a JSON number)" in err
    assert "nul.json: not valid JSON (a string holds the NUL character" in err
    assert list(Workflow.objects.filter(owner=owner).values_list("name", flat=True)) == ["Fine"]


def test_nothing_readable_is_a_failure(tmp_path):
    UserFactory(username="importer")
    (tmp_path / "bad.json").write_text("nope")
    with pytest.raises(CommandError, match="Nothing could be imported"):
        run("import_workflows", str(tmp_path), "--owner", "importer")
    with pytest.raises(CommandError, match="does not exist"):
        run("import_workflows", str(tmp_path / "missing"), "--owner", "importer")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=r"no \.json file"):
        run("import_workflows", str(tmp_path / "empty"), "--owner", "importer")
    with pytest.raises(CommandError, match="no user"):
        run("import_workflows", str(tmp_path), "--owner", "ghost")


def test_the_owner_defaults_to_the_first_superuser_and_a_file_may_hold_a_list(tmp_path):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    path = tmp_path / "two.json"
    path.write_text(json.dumps([document("One"), document("Two"), {"bad": 1}]))
    out, err = run("import_workflows", str(path))
    assert "Imported 2, skipped 0 (duplicates), invalid 1 - owner root" in out
    assert "two.json[2]" in err
    assert Workflow.objects.filter(owner=admin).count() == 2


def test_export_then_import_round_trips(tmp_path):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    WorkflowFactory(owner=alice, name="Alpha / first")
    WorkflowFactory(owner=alice, name="Beta")
    WorkflowFactory(owner=bob, name="Bob's")
    out, _ = run("export_workflows", "--owner", "alice", "--out", str(tmp_path / "x"))
    assert "Exported 2 workflow(s)" in out
    files = sorted(p.name for p in (tmp_path / "x").iterdir())
    assert len(files) == 2 and files[0].startswith("alpha-first-")
    out, _ = run("import_workflows", str(tmp_path / "x"), "--owner", "bob")
    assert "Imported 2, skipped 0" in out
    imported = Workflow.objects.get(owner=bob, name="Beta")
    assert imported.nodes == simple_graph()["nodes"]
    out, _ = run("export_workflows", "--out", str(tmp_path / "all"))
    assert "Exported 5 workflow(s)" in out
