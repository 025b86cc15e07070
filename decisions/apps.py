from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecisionsConfig(AppConfig):
    """What the feedback says about a pilot: evidence, guardrail evaluation, charts, reports.

    The top of the apps (decisions → feedback → pilots → core): it registers, here, what the
    layers below ask for without importing it — the evidence gates and snapshot of the
    lifecycle, the follow-ups a closed round and an exposure report write, the Ops alerts.
    """

    name = "decisions"
    verbose_name = _("Decisions")

    def ready(self) -> None:
        from core import followups, outbox
        from pilots import hints, lifecycle

        from . import evidence, guardrails, learnings

        lifecycle.register_evidence(
            metrics_met=evidence.metrics_met, snapshot=evidence.evidence_snapshot
        )
        # The work a closed round and an exposure report ask for (feedback.scheduling and
        # feedback.answering write the follow-up rows; the names are theirs).
        followups.register("round_closed", guardrails.evaluate_round)
        followups.register("exposure_reported", guardrails.record_exposure_incident)
        # An incident "confidential data exposed" reported at any time (incidents.reporting).
        followups.register("incident_exposure", guardrails.record_incident_exposure)
        outbox.register(guardrails.ALERT_KIND)
        # The propose page shows what earlier pilots on the chosen tool taught.
        hints.register_tool_hint(learnings.about_tool)
