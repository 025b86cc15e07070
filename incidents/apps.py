from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    """Incidents anyone reports about a pilot or a tool, at any time, named or anonymous."""

    name = "incidents"
    verbose_name = _("Incidents")
