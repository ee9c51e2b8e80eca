from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "templates"
    label = "workflow_templates"
    verbose_name = "Templates"
