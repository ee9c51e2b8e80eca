"""`POST /api/v1/uploads`: types checked by content, hostile names made harmless."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from executions.models import Upload
from tests.factories import ApiKeyFactory
from tests.publishing.support import key_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/uploads"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, name, content, **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **extra},
                       format="multipart")


@pytest.mark.parametrize(("name", "content", "content_type"), [
    ("data.json", b'{"a": [1, 2]}', "application/json"),
    ("table.csv", b"a,b\n1,2\n", "text/csv"),
    ("notes.txt", "caf\u00e9 \u2713\n".encode(), "text/plain"),
    ("records.txt", b'[{"a": 1}]', "application/json"),
    ("scan.pdf", PDF, "application/pdf"),
    ("photo.png", PNG, "image/png"),
    ("photo.jpeg", JPEG, "image/jpeg"),
    ("README", b"plain words", "text/plain"),
])
def test_accepted_files_are_stored_with_the_type_of_their_content(auth_client, settings, name,
                                                                  content, content_type):
    response = upload(auth_client, name, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["size"], body["content_type"]) == (name, len(content),
                                                                  content_type)
    row = Upload.objects.get(pk=body["id"])
    stored = Path(row.file.path)
    assert stored.read_bytes() == content
    # A generated name under MEDIA_ROOT, nothing from the request.
    assert stored.parent == Path(settings.MEDIA_ROOT) / "uploads" / str(auth_client.user.id)
    assert stored.stem == str(row.id)


@pytest.mark.parametrize(("name", "content"), [
    ("invoice.txt", b"MZ\x90\x00\x03\x00\x00\x00"),                       # a Windows program
    ("invoice.txt", b"\x7fELF\x02\x01\x01\x00"),                          # a Linux program
    ("invoice.txt", b"#!/bin/sh\nrm -rf /\n"),                             # a script
    ("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script>"),     # HTML
    ("note.txt", b"hello\n<script>fetch('/steal')</script>"),            # HTML further in
    ("logo.txt", b'<?xml version="1.0"?><svg onload="alert(1)"/>'),      # SVG
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),          # SVG by name
    ("page.html", b"<p>hi</p>"),                                         # HTML by name
    ("tool.exe", b"MZ\x90\x00"),                                          # by name too
    ("archive.txt", b"PK\x03\x04\x14\x00"),                               # a zip
    ("binary.txt", b"\x00\x01\x02\x03garbage"),                           # not text
    ("photo.png", b"GIF89a\x01\x00"),                                     # lies about itself
    ("data.json", b"{not json"),                                          # not JSON
    ("photo.jpg", PNG),                                                   # a PNG called .jpg
])
def test_hostile_or_mismatched_files_are_refused_with_415(auth_client, name, content):
    response = upload(auth_client, name, content)
    assert response.status_code == 415, response.content
    assert response.json()["error_code"] in ("UNSUPPORTED_FILE_TYPE", "FILE_TYPE_MISMATCH")
    assert not Upload.objects.exists()


@pytest.mark.parametrize(("given", "shown"), [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
    ("/absolute/path/report.csv", "report.csv"),
    ("evil\u202etxt.exe.txt", "eviltxt.exe.txt"),            # no right-to-left override
    ("a<b>c:d|e?.txt", "a_b_c_d_e_.txt"),
    ("  ..hidden.txt  ", "hidden.txt"),
    ("x" * 300 + ".txt", "x" * 196 + ".txt"),
])
def test_hostile_names_are_cleaned_for_display_and_never_used_as_paths(auth_client, settings,
                                                                       given, shown):
    response = upload(auth_client, given, b"some text")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == shown
    stored = Path(Upload.objects.get().file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_a_file_over_the_limit_is_413(auth_client, settings):
    settings.UPLOAD_MAX_BYTES = 10
    response = upload(auth_client, "big.txt", b"x" * 11)
    assert response.status_code == 413
    assert response.json()["error_code"] == "FILE_TOO_LARGE"


def test_an_empty_file_or_no_file_is_400(auth_client):
    assert upload(auth_client, "empty.txt", b"").status_code == 400
    assert auth_client.post(URL, {}, format="multipart").status_code == 400


def test_folders_are_cleaned_labels(auth_client):
    body = upload(auth_client, "a.txt", b"x", folder="../reports//2024/./march").json()
    assert body["folder"] == "reports/2024/march"


def test_an_api_key_may_upload_and_only_its_owner_sees_the_file(user, other_client):
    response = upload(key_client(ApiKeyFactory(owner=user).key), "k.json",
                      json.dumps({"k": 1}).encode())
    assert response.status_code == 201
    upload_id = response.json()["id"]
    assert Upload.objects.get(pk=upload_id).owner == user
    assert other_client.get(f"{URL}/{upload_id}").status_code == 404
    assert other_client.delete(f"{URL}/{upload_id}").status_code == 404


def test_deleting_an_upload_removes_its_file(auth_client):
    body = upload(auth_client, "gone.txt", b"bye").json()
    path = Path(Upload.objects.get(pk=body["id"]).file.path)
    assert auth_client.delete(f"{URL}/{body['id']}").status_code == 200
    assert not path.exists() and not Upload.objects.exists()
