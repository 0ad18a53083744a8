"""The small Chinese HTML pages of OGC API – Features (`f=html`): plain HTML, no scripts or inline styles,
so that they need nothing the service's Content-Security-Policy would have to allow."""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_PAGE = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ page.title }} · 网格数据 OGC API – Features</title>
</head>
<body>
<nav aria-label="导航">
{% for crumb in page.crumbs %}<a href="{{ crumb.href }}">{{ crumb.text }}</a>{% if not loop.last %} › {% endif %}{% endfor %}
</nav>
<h1>{{ page.title }}</h1>
{% if page.description %}<p>{{ page.description }}</p>{% endif %}
{% if page.facts %}
<table>
<tbody>
{% for key, value in page.facts %}<tr><th scope="row">{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
{% if page.headers %}
<table>
<thead><tr>{% for h in page.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in page.rows %}<tr>{% for cell in row %}<td>{% if cell.href %}<a href="{{ cell.href }}">{{ cell.text }}</a>{% else %}{{ cell.text }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% endif %}
{% if page.links %}
<h2>链接</h2>
<ul>
{% for link in page.links %}<li><a href="{{ link.href }}" rel="{{ link.rel }}">{{ link.text }}</a>{% if link.type %}（{{ link.type }}）{% endif %}</li>
{% endfor %}
</ul>
{% endif %}
</body>
</html>
"""
)


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: text, and a link when `href` is given."""

    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class PageLink:
    href: str
    rel: str
    text: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """What one page shows: title, description, key/value facts, a table of rows, links."""

    title: str
    description: str = ""
    crumbs: list[Cell] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    links: list[PageLink] = field(default_factory=list)


def render(page: Page) -> str:
    """The page as an HTML document (every value escaped)."""
    return _PAGE.render(page=page)
