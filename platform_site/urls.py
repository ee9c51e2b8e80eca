from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from .api.exceptions import error_response
from .health import HealthView

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include("templates.api.urls")),  # before workflows: /workflows/templates...
    path("", include("workflows.api.urls")),
    path("", include("executions.api.urls")),
    path("", include("datasources.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("accounts.api.urls_api_keys")),
    path("", include("workflows.api.urls_publishing")),
    path("", include("executions.api.urls_batches")),
]


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, *args, **kwargs):
    """Any unknown URL under /api/: a 404 in the contract's shape."""
    raise NotFound(f"No API endpoint at {request.path}.")


urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health", HealthView.as_view(), name="health"),
    path("admin/", admin.site.urls),
    re_path(r"^api/", api_not_found),
]

admin.site.site_header = "Conflux operations"
admin.site.site_title = "Conflux"
admin.site.index_title = "Operations console"


def handler400(request, exception=None):
    return error_response("Bad request.", "BAD_REQUEST", 400)


def handler403(request, exception=None):
    return error_response("You do not have permission to do this.", "PERMISSION_DENIED", 403)


def handler404(request, exception=None):
    return error_response(f"Nothing at {request.path}.", "NOT_FOUND", 404)


def handler500(request):
    return error_response("An internal error occurred.", "INTERNAL_ERROR", 500)
