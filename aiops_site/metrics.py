"""GET /metrics: the platform's state for Prometheus, read from the database at each scrape.

For the Ops of the platform (not the product's Ops): rounds opened and closed, emails sent and
failed by kind, the outbox's backlog and its oldest queued email, follow-up work by state,
breaches, pilots by stage, and how long follow-ups and sends took over the last hour. Every
figure is read from rows, so a scrape sees what every web and worker process did.

The timing rule (README): no figure moves with an answer. Responses are never counted here;
an invitation's state moves with the fan-out, a round's with its opening and close, a breach
with a close (or an exposure report, the accepted exception).

Off unless METRICS_TOKEN is set (404); a scrape sends `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from core.models import Delivery, FollowUp
from feedback.models import FeedbackRound
from pilots.models import GuardrailBreach, Pilot, Stage

DURATION_WINDOW = datetime.timedelta(hours=1)
DURATION_SAMPLE = 5000  # the most recent rows of the window behind each duration summary


def _durations(rows) -> tuple[int, float]:
    seconds = [(end - start).total_seconds() for start, end in rows if start and end]
    return len(seconds), sum(seconds)


class DatabaseCollector:
    """Reads every figure from the database when Prometheus scrapes."""

    def collect(self) -> Iterator:
        now = timezone.now()
        yield from self._rounds()
        yield from self._outbox(now)
        yield from self._followups(now)
        yield from self._pilots()

    def _rounds(self) -> Iterator:
        counts = dict(
            FeedbackRound.objects.order_by().values_list("status").annotate(n=Count("pk"))
        )
        opened = CounterMetricFamily("aiops_rounds_opened", "Feedback rounds opened.")
        opened.add_metric([], sum(counts.values()))
        closed = CounterMetricFamily("aiops_rounds_closed", "Feedback rounds closed.")
        closed.add_metric([], counts.get(FeedbackRound.Status.CLOSED, 0))
        open_now = GaugeMetricFamily("aiops_rounds_open", "Feedback rounds open now.")
        open_now.add_metric([], counts.get(FeedbackRound.Status.OPEN, 0))
        yield from (opened, closed, open_now)

    def _outbox(self, now: datetime.datetime) -> Iterator:
        by_state = CounterMetricFamily(
            "aiops_outbox_deliveries",
            "Outbox deliveries (emails) by kind and state: sent, failed, cancelled…",
            labels=["kind", "status"],
        )
        rows = Delivery.objects.order_by().values_list("kind", "status").annotate(n=Count("pk"))
        for kind, status, n in rows:
            by_state.add_metric([kind, status], n)
        backlog = GaugeMetricFamily(
            "aiops_outbox_backlog", "Deliveries queued and not yet sent, by kind.", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "aiops_outbox_oldest_queued_seconds",
            "Age of the oldest queued delivery, by kind.",
            labels=["kind"],
        )
        queued = (
            Delivery.objects.filter(status=Delivery.Status.QUEUED)
            .order_by()
            .values_list("kind")
            .annotate(n=Count("pk"), first=Min("created_at"))
        )
        for kind, n, first in queued:
            backlog.add_metric([kind], n)
            oldest.add_metric([kind], max((now - first).total_seconds(), 0.0))
        sends = SummaryMetricFamily(
            "aiops_outbox_send_seconds",
            "How long sends took (claim to sent) over the last hour.",
            labels=["kind"],
        )
        recent = (
            Delivery.objects.filter(sent_at__gte=now - DURATION_WINDOW)
            .order_by("-sent_at")
            .values_list("kind", "claimed_at", "sent_at")[:DURATION_SAMPLE]
        )
        per_kind: dict[str, list] = {}
        for kind, start, end in recent:
            per_kind.setdefault(kind, []).append((start, end))
        for kind, pairs in sorted(per_kind.items()):
            count, total = _durations(pairs)
            sends.add_metric([kind], count_value=count, sum_value=total)
        yield from (by_state, backlog, oldest, sends)

    def _followups(self, now: datetime.datetime) -> Iterator:
        by_state = GaugeMetricFamily(
            "aiops_followups",
            "Follow-up work (after a commit) by kind and state.",
            labels=["kind", "status"],
        )
        rows = FollowUp.objects.order_by().values_list("kind", "status").annotate(n=Count("pk"))
        for kind, status, n in rows:
            by_state.add_metric([kind, status], n)
        runs = SummaryMetricFamily(
            "aiops_followup_run_seconds",
            "How long follow-up work took (claim to done) over the last hour.",
            labels=["kind"],
        )
        recent = (
            FollowUp.objects.filter(done_at__gte=now - DURATION_WINDOW)
            .order_by("-done_at")
            .values_list("kind", "claimed_at", "done_at")[:DURATION_SAMPLE]
        )
        per_kind: dict[str, list] = {}
        for kind, start, end in recent:
            per_kind.setdefault(kind, []).append((start, end))
        for kind, pairs in sorted(per_kind.items()):
            count, total = _durations(pairs)
            runs.add_metric([kind], count_value=count, sum_value=total)
        yield from (by_state, runs)

    def _pilots(self) -> Iterator:
        breaches = CounterMetricFamily("aiops_breaches", "Guardrail breaches recorded.")
        open_breaches = GaugeMetricFamily("aiops_breaches_open", "Guardrail breaches unresolved.")
        counts = GuardrailBreach.objects.aggregate(
            total=Count("pk"), open=Count("pk", filter=Q(resolved_at__isnull=True))
        )
        breaches.add_metric([], counts["total"])
        open_breaches.add_metric([], counts["open"])
        stages = GaugeMetricFamily("aiops_pilots", "Pilots by stage.", labels=["stage"])
        by_stage = dict(Pilot.objects.order_by().values_list("stage").annotate(n=Count("pk")))
        for stage in Stage.values:
            stages.add_metric([stage], by_stage.get(stage, 0))
        yield from (breaches, open_breaches, stages)


def _authorised(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN.")
    if not _authorised(request):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
