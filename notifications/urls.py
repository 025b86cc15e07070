from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.me, name="notifications_me"),
    path("pilots/<int:pk>/watch/", views.watch, name="pilot_watch"),
]
