"""Uploaded files: checked by their content, stored under generated names.

Only JSON, CSV, plain text, PDF, PNG and JPEG are accepted, recognised from the bytes
themselves; the name's extension must agree with what the bytes are. Markup (HTML, SVG, XML),
scripts and executables are refused whatever they are called. The name a client sends is
cleaned for display and never used as a path: files live at
`MEDIA_ROOT/uploads/<owner id>/<upload id><extension>`.
"""

import hashlib
import json
import re
import unicodedata
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from rest_framework import status

from platform_site.api.errors import APIError, PayloadTooLarge

from .models import Upload

EXTENSION_OF_TYPE = {
    "application/json": ".json",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
}
_TEXT = frozenset({"text/plain", "text/csv", "application/json"})
# The types a file may be, by the extension of its name (no extension: whatever it is).
TYPES_OF_EXTENSION = {
    ".json": frozenset({"application/json"}),
    ".csv": frozenset({"text/csv"}),
    ".txt": _TEXT,
    ".text": _TEXT,
    ".md": _TEXT,
    ".log": _TEXT,
    ".pdf": frozenset({"application/pdf"}),
    ".png": frozenset({"image/png"}),
    ".jpg": frozenset({"image/jpeg"}),
    ".jpeg": frozenset({"image/jpeg"}),
}
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
_REFUSED_SIGNATURES = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java executable"),
    (b"\x00asm", "a WebAssembly module"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"#!", "a script"),
)
# Markup a browser would render or run, if it appears near the start of a "text" file.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|\?xml"
                     rb"|meta|link|style|img|a\s)", re.IGNORECASE)
_MARKUP_WINDOW = 4096
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_RESERVED = re.compile(r'[<>:"|?*]')
MAX_NAME_LENGTH = 200


class UnsupportedFileType(APIError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "This kind of file is not accepted."
    error_code = "UNSUPPORTED_FILE_TYPE"


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Category C: controls, and format characters such as the right-to-left override.
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(_RESERVED.sub("_", text).split()).strip(" .")


def display_name(raw: str | None) -> str:
    """A client's file name made safe to show: no directories, control or reserved characters."""
    name = _clean((raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[:MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or "upload"


def folder_name(raw: str | None) -> str:
    """A folder label: `/`-separated parts cleaned like names; `.` and `..` parts dropped."""
    parts = (_clean(part) for part in (raw or "").replace("\\", "/").split("/"))
    return "/".join(part for part in parts if part)[:255]


def _text_type(content: bytes, extension: str) -> str:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedFileType(
            "The file is neither a PDF, PNG or JPEG nor UTF-8 text.") from None
    if _CONTROL.search(text):
        raise UnsupportedFileType("The file holds binary data, not text.")
    if _MARKUP.search(content[:_MARKUP_WINDOW]):
        raise UnsupportedFileType("HTML, SVG and XML files are not accepted.")
    if extension == ".json" or (extension in ("", ".txt") and text.lstrip()[:1] in ("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            if extension == ".json":
                raise UnsupportedFileType("The file is not valid JSON.") from None
        else:
            return "application/json"
    if extension == ".csv":
        return "text/csv"
    return "text/plain"


def detect_type(content: bytes, name: str) -> str:
    """The content type of a file from its bytes, refused unless allowed and agreeing with name."""
    extension = PurePosixPath(name).suffix.lower()
    if extension and extension not in TYPES_OF_EXTENSION:
        raise UnsupportedFileType(
            f"Files ending in {extension} are not accepted (only JSON, CSV, text, PDF, PNG, "
            "JPEG).")
    detected = next((kind for magic, kind in _SIGNATURES if content.startswith(magic)), None)
    if detected is None:
        refused = next((what for magic, what in _REFUSED_SIGNATURES
                        if content.startswith(magic)), None)
        if refused:
            raise UnsupportedFileType(f"The file is {refused}, which is not accepted.")
        detected = _text_type(content, extension)
    if extension and detected not in TYPES_OF_EXTENSION[extension]:
        raise UnsupportedFileType(
            f"The file's content ({detected}) does not match its name ({extension}).",
            error_code="FILE_TYPE_MISMATCH")
    return detected


def upload_create(*, owner, file: UploadedFile, folder: str = "") -> Upload:
    """Check and store an uploaded file for `owner`."""
    limit = settings.UPLOAD_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.",
                              error_code="FILE_TOO_LARGE")
    content = b"".join(file.chunks())
    if len(content) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.",
                              error_code="FILE_TOO_LARGE")
    if not content:
        raise APIError("The file is empty.", error_code="FILE_EMPTY")
    name = display_name(file.name)
    content_type = detect_type(content, name)
    upload = Upload(owner=owner, name=name, folder=folder_name(folder), size=len(content),
                    content_type=content_type, extension=EXTENSION_OF_TYPE[content_type],
                    sha256=hashlib.sha256(content).hexdigest())
    # The name given here is ignored: upload_path() makes one from the ids.
    upload.file.save("upload", ContentFile(content), save=False)
    try:
        with transaction.atomic():
            upload.save(force_insert=True)
    except Exception:
        upload.file.delete(save=False)
        raise
    return upload


def upload_delete(*, upload: Upload) -> None:
    """Delete an upload and its stored file."""
    upload.file.delete(save=False)
    upload.delete()
