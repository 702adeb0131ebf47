"""Printable PDF sheets (A4, CJK font) rendered with WeasyPrint from the same templates as the screen.

The print template includes the sheet's body partial; the page header (plan,
date, sheet) and the page numbers are margin boxes built here, because their
texts are translated and must be escaped as CSS strings. Only the regular
weight of the CJK font is used, so a printed sheet embeds one font.

A bundle (all route sheets of a plan) renders each route sheet as its own
document and joins the pages: each sheet keeps "page i of n" of its own, and
a document is laid out at a time rather than one huge one. The PDF is written
to a file object, which the view streams from disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .sheets import RouteSheet

PDF_CONTENT_TYPE = "application/pdf"
FONT_FAMILY = "Noto Sans CJK SC"
PAGE_MARK, PAGES_MARK = "\x00page\x00", "\x00pages\x00"


def pdf_available() -> bool:
    """Whether WeasyPrint and the system libraries it loads (Pango, HarfBuzz) are present."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'"{escaped}"'


def _page_numbers_content() -> str:
    """`content:` of the page-number box, e.g. "第 " counter(page) " 页，共 " counter(pages) " 页"."""
    text = _("Page %(page)s of %(pages)s") % {"page": PAGE_MARK, "pages": PAGES_MARK}
    parts: list[str] = []
    for chunk in text.split("\x00"):
        if chunk == "page":
            parts.append("counter(page)")
        elif chunk == "pages":
            parts.append("counter(pages)")
        elif chunk:
            parts.append(css_string(chunk))
    return " ".join(parts)


def page_css(*, header_left: str, header_right: str) -> str:
    return f"""
@page {{
  size: A4;
  margin: 18mm 12mm 16mm 12mm;
  @top-left {{ content: {css_string(header_left)}; font-size: 8.5pt; color: #444; }}
  @top-right {{ content: {css_string(header_right)}; font-size: 8.5pt; color: #444; }}
  @bottom-right {{ content: {_page_numbers_content()}; font-size: 8.5pt; color: #444; }}
}}
html {{ font-family: "{FONT_FAMILY}"; font-size: 9.5pt; font-weight: normal; }}
h1, h2, h3, th, strong, b {{ font-weight: normal; }}
h1 {{ font-size: 15pt; margin: 0 0 2mm; }}
h2 {{ font-size: 12pt; margin: 4mm 0 1.5mm; border-bottom: 0.4pt solid #000; }}
h3 {{ font-size: 10.5pt; margin: 3mm 0 1mm; }}
table {{ width: 100%; border-collapse: collapse; margin: 1mm 0 2mm; }}
th, td {{ border: 0.4pt solid #555; padding: 0.8mm 1.2mm; vertical-align: top; text-align: left; }}
th {{ background: #e8e8e8; }}
td.num, th.num {{ text-align: right; }}
td.blank {{ min-width: 16mm; }}
tr {{ page-break-inside: avoid; }}
thead {{ display: table-header-group; }}
dl.sheet-meta {{ display: block; margin: 0 0 2mm; }}
dl.sheet-meta dt {{ display: inline; color: #444; }}
dl.sheet-meta dd {{ display: inline; margin: 0 4mm 0 1mm; }}
.no-print {{ display: none; }}
section.sheet + section.sheet {{ page-break-before: always; }}
"""


def _document(*, template: str, context: dict[str, Any], header_left: str, header_right: str) -> Any:
    from weasyprint import CSS, HTML

    html = render_to_string(template, {**context, "printing": True})
    css = CSS(string=page_css(header_left=header_left, header_right=header_right))
    return HTML(string=html).render(stylesheets=[css])


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


def sheet_pdf_render(*, template: str, context: dict[str, Any], header_left: str, header_right: str) -> RenderedPdf:
    """One sheet as PDF bytes, with its page count."""
    document = _document(template=template, context=context, header_left=header_left, header_right=header_right)
    return RenderedPdf(data=document.write_pdf(), pages=len(document.pages))


def route_sheets_pdf_write(*, sheets: Iterable[RouteSheet], header_left: str, target: BinaryIO) -> int:
    """All route sheets into one PDF written to `target`; returns the number of pages."""
    documents = []
    for sheet in sheets:
        documents.append(
            _document(
                template="planning/sheets/print.html",
                context={"kind": "route", "sheet": sheet},
                header_left=header_left,
                header_right=_("Route sheet %(vehicle)s") % {"vehicle": sheet.vehicle},
            )
        )
    if not documents:
        documents.append(
            _document(
                template="planning/sheets/print.html",
                context={"kind": "empty"},
                header_left=header_left,
                header_right="",
            )
        )
    pages = [page for document in documents for page in document.pages]
    documents[0].copy(pages).write_pdf(target=target)
    return len(pages)
