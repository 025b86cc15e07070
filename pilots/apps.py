from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = _("AI pilots")

    def ready(self) -> None:
        # The check of the questions metrics and guardrails name.
        from . import checks as pilot_checks  # noqa: F401
        from . import lifecycle, proposals

        lifecycle.register_submission_check(proposals.check_submittable)
