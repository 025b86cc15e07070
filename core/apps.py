from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The bottom layer: errors, Ops membership, change records, the outbox, follow-up work."""

    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # The spine's tasks, registered before anything enqueues them by name.
        # And the deployment checks Django's own `check --deploy` does not know about.
        from . import checks, tasks  # noqa: F401
