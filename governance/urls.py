from django.urls import path

from . import views

urlpatterns = [
    path("charter/coverage/", views.coverage, name="charter_coverage"),
    path("charter/<int:pk>/", views.acknowledge, name="charter_acknowledge"),
]
