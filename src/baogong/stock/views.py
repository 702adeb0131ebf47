from django.http import HttpRequest, HttpResponse


def stock_point_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("TODO")


stock_point_detail = stock_point_list
