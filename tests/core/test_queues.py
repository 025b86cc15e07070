"""Sending can run on workers of its own: the outbox's tasks go to CELERY_SEND_QUEUE."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

CODE = """
import django, json
django.setup()
from aiops_site.celery import app
route = lambda name: app.amqp.router.route({}, name)["queue"].name
print(json.dumps({n: route(n) for n in (
    "core.tasks.deliver_batch", "core.tasks.deliver_batches",
    "feedback.tasks.close_round", "core.tasks.run_followup")}))
"""


def routes(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "CELERY_SEND_QUEUE"}
    environment.update(DJANGO_SETTINGS_MODULE="aiops_site.settings", **env)
    out = subprocess.run(
        [sys.executable, "-c", CODE],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("queue", ["send", "outbox-fast"])
def test_deliveries_go_to_the_send_queue_and_closing_stays_on_the_default(queue):
    found = routes(CELERY_SEND_QUEUE=queue, CELERY_TASK_DEFAULT_QUEUE="work")
    assert found == {
        "core.tasks.deliver_batch": queue,
        "core.tasks.deliver_batches": queue,
        "feedback.tasks.close_round": "work",
        "core.tasks.run_followup": "work",
    }


def test_without_a_send_queue_everything_shares_the_default_one():
    found = routes(CELERY_TASK_DEFAULT_QUEUE="work")
    assert set(found.values()) == {"work"}
