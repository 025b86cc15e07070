from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Tell people what happened: leads, watchers, Ops and participants, by email.

    Above pilots and feedback: it subscribes to the causes they announce (core.followups) and
    sends through the one outbox (core.outbox); neither of them imports it.
    """

    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import followups, languages, outbox
        from feedback.scheduling import ROUND_CLOSED
        from pilots.decision_requests import DECISION_DECLINED
        from pilots.lifecycle import STAGE_CHANGED
        from pilots.reviews import REVIEW_RECORDED

        from . import notify, preferences, recertification, review_digest

        # Every email of the site (invitations and alerts too) in its recipient's language.
        languages.register(preferences.chosen_language, many=preferences.chosen_languages)
        outbox.register(notify.NOTIFICATION_KIND)
        # Ops' daily digest of reviews past their SLA; reminders before a re-certification.
        outbox.register(review_digest.REVIEW_DIGEST_KIND)
        outbox.register(recertification.RECERTIFICATION_KIND)
        followups.register(notify.ON_STAGE_CHANGE, notify.stage_changed)
        followups.register(notify.ON_REVIEW, notify.review_recorded)
        followups.register(notify.ON_ROUND_CLOSED, notify.round_closed)
        followups.subscribe(STAGE_CHANGED, notify.ON_STAGE_CHANGE)
        followups.subscribe(REVIEW_RECORDED, notify.ON_REVIEW)
        # A lead's request for a decision that Ops declined without a move.
        followups.register(notify.ON_DECISION_DECLINED, notify.decision_declined)
        followups.subscribe(DECISION_DECLINED, notify.ON_DECISION_DECLINED)
        # feedback.scheduling.close_round's cause; pilots' guardrail evaluation is its own work.
        followups.subscribe(ROUND_CLOSED, notify.ON_ROUND_CLOSED)
        user_logged_in.connect(preferences.remember_browser_language, dispatch_uid="notify-lang")
