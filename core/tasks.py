"""Celery tasks of the spine: thin adapters over core.followups and core.outbox.

Each takes ids or names and returns small JSON; each is safe to run twice (claims are
conditional updates). Beat ticks the two sweeps.
"""

from __future__ import annotations

from celery import shared_task

from . import followups, outbox

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**TASK_OPTIONS)
def run_followup(followup_id: int) -> dict:
    """Claim and run one follow-up."""
    return {"followup": followup_id, "outcome": followups.run(followup_id)}


@shared_task(**TASK_OPTIONS)
def sweep_followups() -> dict:
    """Requeue follow-ups whose worker died; enqueue the pending ones again."""
    return followups.sweep()


@shared_task(bind=True, **TASK_OPTIONS)
def deliver_batch(self, kind: str, batch: str, ids: list[int] | None = None) -> dict:
    """Send due deliveries of a kind (a batch, or these ids); re-enqueue while some remain."""
    report = outbox.deliver_batch(kind, batch, ids)
    if report.remaining:
        self.delay(kind, batch, None)
    return report.as_dict()


@shared_task(**TASK_OPTIONS)
def deliver_batches(kind: str, batches: list[str]) -> dict:
    """Fan one message out to a send task per batch (a beat tick opening many rounds)."""
    for batch in batches:
        deliver_batch.delay(kind, batch, None)
    return {"kind": kind, "batches": len(batches)}


@shared_task(**TASK_OPTIONS)
def sweep_outbox() -> dict:
    """Settle deliveries whose worker died; enqueue the due ones again."""
    return outbox.sweep()
