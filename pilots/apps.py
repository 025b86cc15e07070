from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = _("AI pilots")

    def ready(self) -> None:
        # The check of the questions metrics and guardrails name.
        from core import followups, outbox

        from . import checks as pilot_checks  # noqa: F401
        from . import guardrails, lifecycle, proposals

        lifecycle.register_submission_check(proposals.check_submittable)
        # The work a closed round and an exposure report ask for (feedback.scheduling,
        # feedback.answering write the follow-up rows; the names are theirs).
        followups.register("round_closed", guardrails.evaluate_round)
        followups.register("exposure_reported", guardrails.record_exposure_incident)
        outbox.register(guardrails.ALERT_KIND)
