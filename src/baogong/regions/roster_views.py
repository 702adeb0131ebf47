from django.http import HttpRequest, HttpResponse


def roster_template(request: HttpRequest) -> HttpResponse:
    return HttpResponse("TODO")


roster_import = roster_template
