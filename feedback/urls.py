from django.urls import path

from . import views

urlpatterns = [
    path("", views.inbox, name="feedback_inbox"),
    path("answer/<str:token>/", views.answer, name="feedback_answer"),
    path("prompts/<int:pk>/", views.answer_prompt, name="feedback_prompt"),
    path("away/", views.away, name="feedback_away"),
    path("away/<int:pk>/cancel/", views.cancel_away, name="feedback_away_cancel"),
    path(
        "pilots/<int:pk>/questions/", views.pilot_extra_questions, name="feedback_pilot_questions"
    ),
    path(
        "questions/<int:pk>/remove/",
        views.remove_extra_question,
        name="feedback_pilot_question_remove",
    ),
]
