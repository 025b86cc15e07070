"""From a breach on the pilot's page, Ops resolve it with a note and come back to the pilot."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from pilots.models import GuardrailBreach
from tests.factories import GuardrailFactory, PilotFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def breach(team, lead):
    pilot = PilotFactory(team=team, lead=lead, stage="pilot", title="Reply drafts")
    return GuardrailBreach.objects.create(
        guardrail=GuardrailFactory(pilot=pilot, description="No customer names in prompts"),
        pilot=pilot,
        detail="Customer data pasted into the tool.",
    )


def resolve_url(breach: GuardrailBreach) -> str:
    return reverse("admin:pilots_guardrailbreach_resolve", args=[breach.pk])


def pilot_page(client, breach: GuardrailBreach) -> str:
    return client.get(reverse("pilot_detail", args=[breach.pilot_id])).content.decode()


def test_ops_see_a_link_to_resolve_each_open_breach_on_the_pilots_page(client, ops, breach):
    other = GuardrailBreach.objects.create(
        guardrail=GuardrailFactory(pilot=breach.pilot), pilot=breach.pilot, detail="Second."
    )
    client.force_login(ops)
    html = pilot_page(client, breach)
    for open_breach in (breach, other):
        assert f'href="{resolve_url(open_breach)}">Resolve with a note</a>' in html


@pytest.mark.parametrize("who", ["lead", "participant"])
def test_people_who_are_not_ops_see_the_breach_but_no_link(client, who, request, breach):
    client.force_login(request.getfixturevalue(who))
    html = pilot_page(client, breach)
    assert "No customer names in prompts" in html
    assert "Resolve with a note" not in html
    assert resolve_url(breach) not in html


def test_ops_resolve_a_breach_with_a_note_and_come_back_to_the_pilot(client, ops, breach):
    client.force_login(ops)
    page = client.get(resolve_url(breach))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Customer data pasted into the tool." in html
    assert 'name="action"' not in html  # not the list's bulk action: this one breach
    cancel = reverse("pilot_detail", args=[breach.pilot_id])
    assert f'href="{cancel}" class="button cancel-link"' in html

    done = client.post(resolve_url(breach), {"note": "Retrained the team."}, follow=True)
    assert done.redirect_chain == [(cancel, 302)]
    breach.refresh_from_db()
    assert (breach.resolved_by, breach.resolution_note) == (ops, "Retrained the team.")
    html = done.content.decode()
    assert "The breach of “No customer names in prompts” is resolved." in html
    assert "Resolve with a note" not in html  # no open breach left on the page


def test_a_resolution_without_a_note_stays_on_the_page_and_changes_nothing(client, ops, breach):
    client.force_login(ops)
    page = client.post(resolve_url(breach), {"note": "   "})
    assert page.status_code == 200
    assert "Write a note saying how the breach was resolved." in page.content.decode()
    breach.refresh_from_db()
    assert breach.resolved_at is None


def test_a_breach_resolved_meanwhile_is_not_resolved_twice(client, ops, ops2, breach):
    client.force_login(ops)
    GuardrailBreach.objects.filter(pk=breach.pk).update(
        resolved_at=timezone.now(), resolved_by=ops2, resolution_note="Done by ops2."
    )
    page = client.post(resolve_url(breach), {"note": "Me too."})
    html = page.content.decode()
    assert "already resolved by someone else" in html
    assert 'value="Resolve"' not in html and 'name="note"' not in html
    breach.refresh_from_db()
    assert (breach.resolved_by, breach.resolution_note) == (ops2, "Done by ops2.")


def test_staff_who_are_not_ops_cannot_resolve_a_breach(client, breach):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="pilots"))
    client.force_login(user)
    assert client.get(resolve_url(breach)).status_code == 403
    assert client.post(resolve_url(breach), {"note": "Sneaky."}).status_code == 403
    breach.refresh_from_db()
    assert breach.resolved_at is None


def test_signed_out_visitors_are_sent_to_the_admin_login(client, breach):
    response = client.get(resolve_url(breach))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
