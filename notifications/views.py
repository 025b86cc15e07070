"""The profile page (language and notifications) and the watch button: thin adapters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError

from . import preferences, watching
from .forms import PreferencesForm
from .models import Profile


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                profile = preferences.save(
                    user,
                    actor=user,
                    language=form.cleaned_data["language"],
                    channels=form.channels(),
                )
            except DomainError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                request.session[preferences.SESSION_KEY] = profile.language
                translation.activate(profile.language)
                messages.success(request, _("Your preferences are saved."))
                return redirect("notifications_me")
    else:
        language = Profile.objects.filter(user=user).values_list(
            "language", flat=True
        ).first() or preferences.supported(translation.get_language())
        initial = {"language": language}
        initial.update({f"topic_{t}": c for t, c in preferences.channels_of(user).items()})
        form = PreferencesForm(initial=initial)
    return render(request, "notifications/me.html", {"form": form})


@login_required
@require_POST
def watch(request: HttpRequest, pk: int) -> HttpResponse:
    stop = request.POST.get("watch") == "off"
    try:
        if stop:
            watching.unwatch(pk, actor=request.user)
        else:
            watching.watch(pk, actor=request.user)
    except DomainError as e:
        raise Http404(e.message) from e
    if stop:
        messages.success(request, _("You no longer watch this pilot."))
    else:
        messages.success(request, _("You watch this pilot: you will be told what happens to it."))
    return redirect("pilot_detail", pk=pk)
