from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = _("AI pilots")

    def ready(self) -> None:
        # The check of the questions metrics and guardrails name.
        from . import checks as pilot_checks  # noqa: F401
        from . import decision_requests, lifecycle, proposals

        lifecycle.register_submission_check(proposals.check_submittable)
        # A lead's open request for a decision is answered by the move that follows it.
        lifecycle.register_after_move(decision_requests.close_open)
