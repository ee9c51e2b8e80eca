"""Routes of batches, compute servers and uploads."""

from platform_site.api.routers import OptionalSlashRouter

from .batches import BatchViewSet
from .servers import ServerViewSet
from .uploads import UploadViewSet

router = OptionalSlashRouter()
router.register("batch", BatchViewSet, basename="batch")
router.register("servers", ServerViewSet, basename="server")
router.register("uploads", UploadViewSet, basename="upload")

urlpatterns = router.urls
