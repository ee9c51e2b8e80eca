from platform_site.api.routers import OptionalSlashRouter

from .api_keys import ApiKeyViewSet

router = OptionalSlashRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
