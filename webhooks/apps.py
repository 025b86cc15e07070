from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Tell other systems what happened: signed HTTP calls to endpoints Ops register.

    Beside decisions and notifications (neither knows the other): it subscribes to the causes
    pilots, feedback and decisions announce (core.followups) and sends through the one outbox
    (core.outbox), on a channel of its own.
    """

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from core import followups, outbox
        from feedback.scheduling import ROUND_CLOSED
        from pilots.declarations import DECLARATION_RECEIVED
        from pilots.lifecycle import STAGE_CHANGED
        from pilots.models import BREACH_OPENED, BREACH_RESOLVED

        from . import events, sending

        outbox.register(sending.WEBHOOK_KIND)
        outbox.register(sending.DISABLED_KIND)
        outbox.register_channel(events.WEBHOOK, sending.send)
        for cause, kind, handler in (
            (STAGE_CHANGED, events.ON_STAGE_CHANGE, events.stage_changed),
            (ROUND_CLOSED, events.ON_ROUND_CLOSED, events.round_closed),
            (BREACH_OPENED, events.ON_BREACH_OPENED, events.breach_opened),
            (BREACH_RESOLVED, events.ON_BREACH_RESOLVED, events.breach_resolved),
            (DECLARATION_RECEIVED, events.ON_DECLARATION, events.declaration_received),
        ):
            followups.register(kind, handler)
            followups.subscribe(cause, kind)
