"""The one place the domain hands work to Celery: a task by its registered name.

Domain modules never import a task module (tasks import the domain); they record what must
happen — a follow-up row (core.followups), a delivery (core.outbox), a round due to close —
and the work is enqueued here, after commit, by name. Eager mode (the tests) runs it
in-process. A lost message costs nothing: the row stays pending and a periodic sweep enqueues
it again.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue(task_name: str, *args: Any) -> None:
    """Send a task by name now (call it from an on-commit callback or outside a transaction)."""
    current_app.tasks[task_name].delay(*args)


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send a task by name once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task_name, *args))
