from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    """People and rules around the pilots: the usage charter and its acknowledgements.

    It sits between feedback and pilots (… → feedback → governance → pilots → core): feedback's
    invitations ask it whether a participant has acknowledged; what must follow an
    acknowledgement in feedback (the invitation that waited) is registered by feedback.
    """

    name = "governance"
    verbose_name = _("Governance")

    def ready(self) -> None:
        from core import outbox

        from . import charter

        # The message a participant gets instead of an invitation before acknowledging.
        outbox.register(charter.CHARTER_REQUEST_KIND)
