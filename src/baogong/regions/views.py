from django.http import HttpRequest, HttpResponse


def region_detail(request: HttpRequest, region_id: int) -> HttpResponse:
    return HttpResponse("TODO")


zone_status_set = region_detail
household_detail = region_detail
