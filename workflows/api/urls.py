
from platform_site.api.routers import OptionalSlashRouter

from .views import WorkflowViewSet

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")

urlpatterns = router.urls
