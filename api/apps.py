from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API's adapters: personal tokens, authentication, throttling and the v1 routes.

    Above decisions in the layers: it calls the domain functions of every app below, the way the
    web pages do, and no app below knows it exists.
    """

    name = "api"
    verbose_name = _("API")
