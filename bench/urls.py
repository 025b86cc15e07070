"""The project's URLs plus the benchmark's baselines (bench.settings only, never production).

Baselines go through the same middleware as every page: a GET that renders a one-line template
and a POST that must pass Django's CSRF check, answering with a redirect like the answer page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_POST

from aiops_site.urls import urlpatterns as project_urlpatterns

_HELLO = engines["django"].from_string("<p>Hello {{ name }}</p>{% csrf_token %}")


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_HELLO.render({"name": "world"}, request))


@require_POST
def hello_post(request: HttpRequest) -> HttpResponse:
    return redirect("/bench/hello/?saved=1")


urlpatterns = [
    path("bench/hello/", hello),
    path("bench/hello/post/", hello_post),
    *project_urlpatterns,
]
