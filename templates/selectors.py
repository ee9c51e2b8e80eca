"""Reads of the templates app."""

from django.db.models import Q, QuerySet

from .models import TemplateStatus, WorkflowTemplate


def templates_visible_to(user) -> QuerySet[WorkflowTemplate]:
    """Published templates plus the user's own submissions (admins: every template)."""
    queryset = WorkflowTemplate.objects.select_related("author")
    if getattr(user, "is_platform_admin", False):
        return queryset
    return queryset.filter(Q(status=TemplateStatus.PUBLISHED) | Q(author=user))


def template_list(*, user, category: str | None = None, search: str | None = None,
                  featured: bool | None = None, status: str | None = None,
                  mine: bool = False) -> QuerySet[WorkflowTemplate]:
    """The catalogue: published templates and the user's own submissions, filtered."""
    queryset = WorkflowTemplate.objects.select_related("author").filter(
        Q(status=TemplateStatus.PUBLISHED) | Q(author=user)
    )
    if mine:
        queryset = queryset.filter(author=user)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category__iexact=category)
    if featured is not None:
        queryset = queryset.filter(featured=featured)
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search)
                                   | Q(category__icontains=search))
    return queryset.order_by("-featured", "-times_used", "name", "id")
