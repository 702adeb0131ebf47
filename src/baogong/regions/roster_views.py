"""Pages for the household roster: the template download and the upload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from baogong.core.errors import ImportRejected, NotFound, PermissionDenied
from baogong.core.scoping import scope_of
from baogong.core.spreadsheets import upload_read_limited

from . import roster
from .models import Region, RegionLevel
from .selectors import region_list

if TYPE_CHECKING:
    from baogong.core.scoping import Scope

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RosterImportForm(forms.Form):
    # An integer rather than a ModelChoiceField: a compound outside the
    # caller's scope must answer 404 from the scoped lookup in the service,
    # not a form error that would tell it apart from one that does not exist.
    compound = forms.IntegerField(label=_("Compound"), widget=forms.Select)
    file = forms.FileField(
        label=_("Roster file (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX_CONTENT_TYPE}"}),
    )

    def __init__(self, *args: Any, compounds: list[Region], **kwargs: Any):
        super().__init__(*args, **kwargs)
        widget = self.fields["compound"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [
            (compound.pk, f"{compound.parent.name} · {compound.name}" if compound.parent else compound.name)
            for compound in compounds
        ]


def _roster_scope(request: HttpRequest) -> Scope:
    # 403 rather than 404 for a volunteer, supplier or resident: the page is
    # no secret and core.errors keeps 404 for objects outside the scope, 403
    # for actions a role may never take. A compound outside the scope is 404.
    scope = scope_of(request.user)
    if scope.role not in roster.ROSTER_IMPORT_ROLES:
        raise DjangoPermissionDenied
    return scope


@login_required
@require_GET
def roster_template(request: HttpRequest) -> HttpResponse:
    _roster_scope(request)
    return HttpResponse(
        roster.roster_template_build(),
        content_type=XLSX_CONTENT_TYPE,
        headers={"Content-Disposition": content_disposition_header(True, "住户摸排表-roster-template.xlsx")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request: HttpRequest) -> HttpResponse:
    scope = _roster_scope(request)
    compounds = list(
        region_list(scope=scope).filter(level=RegionLevel.COMPOUND).select_related("parent").order_by("path")
    )
    context: dict[str, Any] = {"result": None, "rejection": None, "compound": None}
    status = 200
    if request.method == "POST":
        form = RosterImportForm(request.POST, request.FILES, compounds=compounds)
        if form.is_valid():
            try:
                data = upload_read_limited(form.cleaned_data["file"])
                result = roster.roster_import(
                    actor=request.user,  # type: ignore[arg-type]
                    scope=scope,
                    compound_id=form.cleaned_data["compound"],
                    data=data,
                )
            except NotFound as exc:
                raise Http404 from exc
            except PermissionDenied as exc:
                raise DjangoPermissionDenied from exc
            except ImportRejected as exc:
                context["rejection"] = exc
                status = exc.status
            else:
                context["result"] = result
                context["compound"] = next(c for c in compounds if c.pk == result.compound_id)
        else:
            status = 422
    else:
        initial = {"compound": request.GET.get("compound")} if request.GET.get("compound") else None
        form = RosterImportForm(initial=initial, compounds=compounds)
    context.update(form=form, compounds=compounds, columns=roster.COLUMNS)
    return render(request, "regions/roster_import.html", context, status=status)
