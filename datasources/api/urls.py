from platform_site.api.routers import OptionalSlashRouter

from .views import DataSourceViewSet

router = OptionalSlashRouter()
router.register("data-sources", DataSourceViewSet, basename="data-source")

urlpatterns = router.urls
