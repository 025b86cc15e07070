from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        # pilots may not import feedback: it learns which questions a pilot's rounds ask
        # through the provider registered here.
        from pilots import question_keys

        from . import pilot_questions

        question_keys.register_provider(pilot_questions.asked_questions)
