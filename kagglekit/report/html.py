"""The report's one HTML page: a small Jinja2 template with autoescaping (texts from a
competition's files are untrusted HTML), styles inline, images inline: viewable offline."""

from __future__ import annotations

from dataclasses import dataclass, field

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kagglekit {{ version }}">
<title>{{ title }}</title>
<style>
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1d2329; background: #f6f7f9; }
header { background: #20303f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 2px 0; color: #c9d4de; }
nav { padding: 8px 32px; background: #e8ecf0; font-size: 13px; }
nav a { margin-right: 14px; color: #23527c; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1180px; }
section { background: #fff; border: 1px solid #dde2e7; border-radius: 6px; margin: 16px 0;
          padding: 12px 20px; }
section.narrow { display: inline-block; vertical-align: top; margin-right: 12px; }
section h2 { font-size: 17px; margin: 4px 0 10px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 4px 10px; text-align: right;
         vertical-align: top; }
th { background: #f0f3f6; white-space: nowrap; }
td.text, th.text { text-align: left; max-width: 640px; white-space: pre-wrap;
                   word-break: break-word; }
figure { margin: 8px 0 14px; }
figure img { max-width: 100%; border: 1px solid #eceff2; }
figcaption { color: #5a6570; font-size: 12px; }
.note { color: #7a4b00; background: #fff6e0; border-left: 3px solid #e0a000;
        padding: 4px 10px; margin: 6px 0; }
.big { font-size: 26px; font-weight: 600; }
.muted { color: #66717c; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
{% for line in subtitle %}<p>{{ line }}</p>{% endfor %}
</header>
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
{% for note in notes %}<p class="note">{{ note }}</p>{% endfor %}
{% for s in sections %}
<section id="{{ s.id }}"{% if s.narrow %} class="narrow"{% endif %}>
<h2>{{ s.title }}</h2>
{% for p in s.paragraphs %}<p{% if p.cls %} class="{{ p.cls }}"{% endif %}>{{ p.text }}</p>{% endfor %}
{% for f in s.figures %}
<figure><img src="{{ f.data_uri }}" alt="{{ f.caption }}"><figcaption>{{ f.caption }}</figcaption></figure>
{% endfor %}
{% for t in s.tables %}
{% if t.caption %}<p class="muted">{{ t.caption }}</p>{% endif %}
<table>
<tr>{% for c in t.columns %}<th{% if c in t.text_columns %} class="text"{% endif %}>{{ c }}</th>{% endfor %}</tr>
{% for row in t.rows %}<tr>{% for c in t.columns %}<td{% if c in t.text_columns %} class="text"{% endif %}>{{ row[c] }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endfor %}
</section>
{% endfor %}
<p class="muted">Written by kagglekit {{ version }} on {{ created }}. Everything on this
page is in this one file.</p>
</main>
</body>
</html>
"""


@dataclass
class Table:
    columns: list
    rows: list  # dicts, values already formatted as text
    caption: str = ""
    text_columns: tuple = ()


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list = field(default_factory=list)  # {"text", "cls"}
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    narrow: bool = False  # small enough to sit beside the next one

    def say(self, text: str, cls: str = "") -> Section:
        self.paragraphs.append({"text": text, "cls": cls})
        return self

    def table(self, columns, rows, caption: str = "", text_columns=()) -> Section:
        formatted = [{c: fmt(r.get(c)) for c in columns} for r in rows]
        self.tables.append(Table(list(columns), formatted, caption, tuple(text_columns)))
        return self

    def figure(self, figure) -> Section:
        if figure is not None:
            self.figures.append(figure)
        return self


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.4f}"
    return str(value)


def render_page(
    title: str,
    subtitle: list[str],
    notes: list[str],
    sections: list[Section],
    version: str,
    created: str,
) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        title=title,
        subtitle=subtitle,
        notes=notes,
        sections=sections,
        version=version,
        created=created,
    )
