"""Celery tasks of notifications: beat ticks them; each is safe to run twice.

The outbox's unique keys make a repeat write nothing (one digest per Ops user and day, one
reminder per standard, date and threshold); the deliveries are sent by core.tasks.
"""

from __future__ import annotations

from celery import shared_task

from . import recertification, review_digest

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**TASK_OPTIONS)
def send_review_digest() -> dict:
    """Queue today's digest of what waits for Ops longer than the review SLA."""
    return {"queued": review_digest.send_review_digest()}


@shared_task(**TASK_OPTIONS)
def remind_recertifications() -> dict:
    """Queue the reminders of approved standards whose re-certification date is near."""
    return {"queued": recertification.remind_recertifications()}
