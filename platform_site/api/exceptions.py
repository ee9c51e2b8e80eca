"""The one place that turns every error into the contract's shape.

`{"detail": str, "error_code": "UPPER_SNAKE", "status_code": int}` plus `errors` for validation
failures. DRF views route through `exception_handler`; Django's own 400/403/404/500 handlers
(see `platform_site.urls`) use `error_response` so nothing answers HTML or a traceback.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from .errors import APIError

logger = logging.getLogger(__name__)

_CODES_BY_CLASS: list[tuple[type[Exception], str]] = [
    (InvalidToken, "TOKEN_INVALID"),
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "THROTTLED"),
    (exceptions.ParseError, "INVALID_JSON"),
    (exceptions.ValidationError, "VALIDATION_ERROR"),
]


def error_body(detail: str, error_code: str, status_code: int, errors: object = None) -> dict:
    """The contract's error document."""
    body = {"detail": detail, "error_code": error_code, "status_code": status_code}
    if errors is not None:
        body["errors"] = errors
    return body


def error_response(detail: str, error_code: str, status_code: int) -> JsonResponse:
    """A plain Django response in the error shape, for errors raised outside DRF views."""
    return JsonResponse(error_body(detail, error_code, status_code), status=status_code)


def _field_errors(data: object) -> dict:
    """Normalise DRF validation detail into `{field: [messages]}`."""
    if isinstance(data, dict):
        return {
            str(key): _messages(value) if not isinstance(value, dict) else _field_errors(value)
            for key, value in data.items()
        }
    return {"non_field_errors": _messages(data)}


def _messages(value: object) -> list:
    if isinstance(value, list):
        flat = []
        for item in value:
            flat.extend(_messages(item) if isinstance(item, list | dict) else [str(item)])
        return flat
    if isinstance(value, dict):
        return [_field_errors(value)]
    return [str(value)]


def _summary(errors: dict) -> str:
    for field, messages in errors.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            return f"{field}: invalid."
        if field == "non_field_errors":
            return str(first)
        return f"{field}: {first}"
    return "Invalid input."


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception hook: every exception, known or not, in the contract's shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, TokenError):
        exc = InvalidToken(str(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = APIError("The request body is too large.", error_code="PAYLOAD_TOO_LARGE")
        exc.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "view")
        return Response(
            error_body("An internal error occurred.", "INTERNAL_ERROR", 500), status=500
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    errors = None
    if isinstance(exc, APIError):
        code, detail, errors = exc.error_code, str(exc.detail), exc.errors
    elif isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        code, detail = "VALIDATION_ERROR", _summary(errors)
    else:
        code = next((c for cls, c in _CODES_BY_CLASS if isinstance(exc, cls)), None)
        code = code or str(exc.default_code).upper()
        detail = exc.detail
        if isinstance(detail, dict):
            detail = detail.get("detail", detail)
        if isinstance(detail, list):
            detail = " ".join(str(d) for d in detail)
        detail = str(detail)
        if isinstance(exc, exceptions.ParseError):
            detail = f"Malformed request body: {detail}"
    return Response(error_body(detail, code, exc.status_code, errors),
                    status=exc.status_code, headers=headers)
