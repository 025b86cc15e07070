from django.urls import path

from . import views

urlpatterns = [
    path("charter/coverage/", views.coverage, name="charter_coverage"),
    path("charter/<int:pk>/", views.acknowledge, name="charter_acknowledge"),
    path("champion/", views.champion_home, name="champion_home"),
    path("champion/relay/", views.champion_relay, name="champion_relay"),
    path("champion/coverage/", views.champion_coverage, name="champion_coverage"),
]
