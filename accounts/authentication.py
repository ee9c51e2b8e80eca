"""Authentication by API key, for the endpoints of published workflows only.

Views opt in by listing `ApiKeyAuthentication` before `JWTAuthentication`; everywhere else a
key is not a JWT and is refused with 401.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from .api_keys import api_key_authenticate, looks_like_api_key
from .models import ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer cfx_...`: the key's owner, with the key as `request.auth`."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        try:
            credential = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not looks_like_api_key(credential):
            return None  # a JWT: the next authentication class decides
        api_key = api_key_authenticate(key=credential)
        if api_key is None or not api_key.owner.is_active:
            raise AuthenticationFailed("The API key is invalid or has been revoked.",
                                       code="api_key_invalid")
        return api_key.owner, api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes API keys."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "cfx_ API key",
                "description": "An API key (POST /api/v1/api-keys); published-workflow "
                               "endpoints only."}


# What the endpoints of published workflows accept: an API key or a JWT.
PUBLISHED_API_AUTHENTICATION = [ApiKeyAuthentication, JWTAuthentication]


def authenticated_by_key(request) -> bool:
    """True when the request came with an API key rather than a JWT."""
    return isinstance(getattr(request, "auth", None), ApiKey)
