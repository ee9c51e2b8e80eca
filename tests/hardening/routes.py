"""Every route of the URL configuration, with the methods its view answers."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str
    template: str
    kwargs: tuple[str, ...]
    methods: tuple[str, ...]
    view: object


def _methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(sorted(m for m in actions if m not in ("head", "options")))
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return ("get",)
    return tuple(sorted(m for m in view_class.http_method_names
                        if m not in ("head", "options", "trace") and hasattr(view_class, m)))


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_routes() -> list[Route]:
    """Routes under /api/ (and /health, /docs...), skipping the catch-all 404."""
    routes = []
    for template, entry in _walk(get_resolver()):
        if template.startswith(("admin/", "^admin/")) or entry.name is None:
            continue
        regex = entry.pattern.regex
        kwargs = tuple(regex.groupindex)
        converters = getattr(entry.pattern, "converters", {})
        kwargs = tuple(dict.fromkeys(kwargs + tuple(converters)))
        routes.append(Route(entry.name, template, kwargs, _methods(entry.callback),
                            entry.callback))
    return routes
