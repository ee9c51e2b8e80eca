from platform_site.api.routers import OptionalSlashRouter

from .views import WorkflowTemplateViewSet

router = OptionalSlashRouter()
router.register("workflows/templates", WorkflowTemplateViewSet, basename="workflow-template")

urlpatterns = router.urls
