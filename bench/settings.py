"""Settings of the benchmarks' web server: the project's, with the bench-only URLconf.

Only bench/bench_answer_page.py selects it (DJANGO_SETTINGS_MODULE=bench.settings), so the
hello-world baselines it measures against never exist in production URLs.
"""

from aiops_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Pages are measured, not static files: no manifest (collectstatic) needed.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The send benchmark's baseline task (bench/bench_send_invitations.py), in its worker only.
CELERY_IMPORTS = ("bench.worker_support",)
