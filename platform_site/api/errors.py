"""Domain errors the API answers in the contract's shape."""

from rest_framework import status
from rest_framework.exceptions import APIException


class APIError(APIException):
    """An error with a stable `error_code`; subclasses set the status and the code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be processed."
    error_code = "BAD_REQUEST"

    def __init__(self, detail: str | None = None, *, error_code: str | None = None,
                 errors: object = None) -> None:
        super().__init__(detail or self.default_detail)
        if error_code:
            self.error_code = error_code
        self.errors = errors


class Conflict(APIError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    error_code = "CONFLICT"


class Unprocessable(APIError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well-formed but cannot be carried out."
    error_code = "UNPROCESSABLE"


class PayloadTooLarge(APIError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    error_code = "PAYLOAD_TOO_LARGE"


class ServiceUnavailable(APIError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service the platform depends on is unavailable."
    error_code = "SERVICE_UNAVAILABLE"


class TooManyExecutions(APIError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many executions are active."
    error_code = "TOO_MANY_EXECUTIONS"
