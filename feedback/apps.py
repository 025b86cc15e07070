from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        # pilots may not import feedback: it learns which questions a pilot's rounds ask
        # through the provider registered here.
        from core import outbox
        from governance import charter
        from pilots import question_keys

        from . import invitations, pilot_questions

        question_keys.register_provider(pilot_questions.asked_questions)
        # Pilot templates and clones keep a pilot's own questions as data and recreate them.
        question_keys.register_own_questions(
            question_keys.OwnQuestions(
                read=pilot_questions.questions_as_data,
                check=pilot_questions.check_questions_data,
                write=pilot_questions.add_questions_data,
            )
        )
        # The participant emails, as kinds of the one outbox (at most once).
        outbox.register(invitations.INVITATION_KIND)
        outbox.register(invitations.REMINDER_KIND)
        # An invitation that waited for the charter acknowledgement goes out once it is given.
        charter.register_after_acknowledge(invitations.release_after_acknowledgement)
