from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("pilots/", views.portfolio, name="portfolio"),
    path("pilots/<int:pk>/", views.pilot_detail, name="pilot_detail"),
    path("learnings/", views.learnings_library, name="learnings"),
    path("radar/", views.tech_radar, name="radar"),
]
