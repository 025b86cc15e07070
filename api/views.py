"""The token page of a person's profile: create a token (shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.exceptions import ValidationFailed

from . import tokens
from .forms import TokenForm


@never_cache
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            new = tokens.create_token(request.user, **form.cleaned_data)
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            # Shown in this response only: never stored, never put in a redirect or a message.
            secret = new.secret
            form = TokenForm()
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": list(tokens.tokens_of(request.user)),
            "today": timezone.localdate(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = tokens.revoke_token(pk, actor=request.user)
    except ValidationFailed as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api_tokens")
