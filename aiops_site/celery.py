"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import logging
import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops_site.settings")

app = Celery("aiops_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
task_logger = logging.getLogger("aiops.task")


# One structured line per task (aiops_site.logs): its name and id, how long it ran, its outcome.
# Never its arguments or result: tasks take ids, but a line per answer-driven task would date it.
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str | None = None, task=None, state: str | None = None, **kw) -> None:
    started = _started.pop(task_id, None) if task_id else None
    task_logger.log(
        logging.INFO if state in ("SUCCESS", "RETRY", None) else logging.ERROR,
        "task",
        extra={
            "task": getattr(task, "name", None),
            "task_id": task_id,
            "outcome": (state or "unknown").lower(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
