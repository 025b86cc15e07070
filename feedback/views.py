"""Feedback pages: answering by link or from the inbox, absences, a lead's own questions.

Thin adapters: they parse input, call one function of feedback.answering, feedback.absences or
feedback.pilot_questions, and render. Pages whose URL or HTML holds an answer token are never
cached and send a Referer without any path ("strict-origin"), so the token reaches no other
site, no shared cache and no log of a Referer header. Not "no-referrer": under it browsers send
"Origin: null" with the page's own POST forms, which Django's CSRF check rightly refuses.
Every outcome of a token page is a 200 (or 404 for an unknown link): Django logs 4xx responses
with their path, and the path holds the token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import DomainError, PermissionRefused, ValidationFailed
from pilots.models import Pilot

from . import absences, access, answering, pilot_questions, tokens
from .forms import AbsenceForm, AnswerForm, ExtraQuestionForm
from .models import Absence, FeedbackRound, Prompt, Question


def private_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a page that shows a token (in its URL or HTML): no cache, no path in Referer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "strict-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


# ---------------------------------------------------------------------------------------------
# Answering


@private_page
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        prompt = answering.prompt_for_token(token)
    except answering.UnknownLink as e:
        return render(
            request,
            "feedback/message.html",
            {"title": _("Unknown link"), "message": e.message},
            status=404,
        )
    return _answer_page(request, prompt, token=token)


@private_page
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def answer_prompt(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        prompt = answering.own_prompt(pk, user=request.user)
    except PermissionRefused as e:
        return render(
            request,
            "feedback/message.html",
            {"title": _("Not your prompt"), "message": e.message},
            status=404,
        )
    return _answer_page(request, prompt, token=None)


def _answer_page(request: HttpRequest, prompt: Prompt, *, token: str | None) -> HttpResponse:
    feedback_round = prompt.round
    pilot = feedback_round.pilot
    # A successful POST (a redirect) shows no response: read it only for a page that does.
    posted = request.method == "POST"
    response = None if posted else answering.existing_response(prompt, token=token)
    context: dict[str, Any] = {
        "prompt": prompt,
        "round": feedback_round,
        "pilot": pilot,
        "response": response,
        "token": token,
    }

    def page(template: str, **extra: Any) -> HttpResponse:
        if posted:
            # Not saved by this POST: the prompt may have been answered since it was read.
            prompt.refresh_from_db(fields=["answered"])
            context["response"] = answering.existing_response(prompt, token=token)
        context.update(extra)
        return render(request, template, context)

    closed = answering.refusal(feedback_round, pilot)
    if closed is not None:
        return page(
            "feedback/closed.html",
            title=_("Feedback closed"),
            message=closed.message,
            code=closed.code,
        )
    owed = None if token is not None else answering.charter_refusal(request.user, prompt)
    if owed is not None:
        # Nothing is read or stored before the pilot's usage charter is acknowledged.
        return render(
            request,
            "feedback/message.html",
            {"title": _("Usage charter first"), "message": owed.message, "charter_pilot": pilot},
            status=403,
        )
    if token is None and feedback_round.anonymous and prompt.answered:
        return page(
            "feedback/message.html",
            title=_("Already answered"),
            message=_(
                "You answered this round. Your answer is anonymous, so it is not linked to your "
                "account and cannot be opened from here: to change it before %(closes)s, use the "
                "link you were given when you answered (or the emailed link, if you answered "
                "through it)."
            )
            % {"closes": _when(feedback_round.closes_at)},
        )
    questions = answering.questions_for_round(feedback_round)
    if request.method == "POST":
        form = AnswerForm(questions, request.POST)
        if form.is_valid():
            try:
                saved = answering.submit_response(
                    token=token,
                    prompt_id=None if token else prompt.pk,
                    user=None if token else request.user,
                    answers=form.answers(),
                    prompt=prompt,
                    questions=questions,
                )
            except answering.AnswersInvalid as e:
                form.add_domain_errors(e.errors)
            except answering.AnsweringClosed as e:
                return page(
                    "feedback/closed.html",
                    title=_("Feedback closed"),
                    message=e.message,
                    code=e.code,
                )
            except DomainError as e:
                return page("feedback/message.html", title=_("Not saved"), message=e.message)
            else:
                edit_token = saved.edit_token or token
                if edit_token:
                    target = reverse("feedback_answer", args=[edit_token])
                else:
                    target = reverse("feedback_prompt", args=[prompt.pk])
                reply = redirect(f"{target}?{urlencode({'saved': '1'})}")
                if feedback_round.anonymous and edit_token:
                    _remember_edit_link(request, reply, prompt, edit_token)
                return reply
    else:
        form = AnswerForm(questions, initial=answering.answers_of(response))
    return page(
        "feedback/answer.html",
        form=form,
        saved=bool(request.GET.get("saved")) and response is not None,
        closes_at=feedback_round.closes_at,
        action=request.path,
    )


def _when(moment: Any) -> str:
    from django.utils import formats

    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# ---------------------------------------------------------------------------------------------
# Edit links of anonymous answers, kept only in the participant's browser
#
# The server cannot find an anonymous response from a person (that is the point), so the inbox
# cannot offer "change my answer" by itself. After answering while logged in, the browser keeps
# {prompt id: token} in a signed, http-only cookie bound to the user; the inbox shows the edit
# link when the token still opens that prompt. Nothing of it is stored on the server (not in
# the session either), and the cookie is useless once the round closes.

EDIT_LINKS_COOKIE = "feedback_edit_links"


def _edit_links_salt(user: Any) -> str:
    return f"feedback.edit-links:{user.pk}"


def edit_links(request: HttpRequest) -> dict[int, str]:
    """Return the {prompt id: token} this browser kept for the logged-in participant."""
    if not request.user.is_authenticated:
        return {}
    signed = request.get_signed_cookie(
        EDIT_LINKS_COOKIE, default=None, salt=_edit_links_salt(request.user)
    )
    try:
        raw = json.loads(signed) if signed else {}
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {int(k): v for k, v in raw.items() if str(k).isdigit() and isinstance(v, str)}


def _remember_edit_link(
    request: HttpRequest, reply: HttpResponse, prompt: Prompt, token: str
) -> None:
    if not access.may_answer(request.user, prompt):
        return
    links = edit_links(request)
    links[prompt.pk] = token
    # Keep only the prompts of rounds still open: the others' links no longer edit anything.
    still_open = Prompt.objects.filter(
        pk__in=links,
        participant=request.user,
        round__status=FeedbackRound.Status.OPEN,
        round__closes_at__gt=timezone.now(),
    ).values_list("pk", "round__closes_at")
    kept = {pk: links[pk] for pk, _closes in still_open}
    last_close = max((closes for _pk, closes in still_open), default=timezone.now())
    reply.set_signed_cookie(
        EDIT_LINKS_COOKIE,
        json.dumps({str(k): v for k, v in kept.items()}),
        salt=_edit_links_salt(request.user),
        max_age=max(0, int((last_close - timezone.now()).total_seconds())),
        path=reverse("feedback_inbox"),
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


# ---------------------------------------------------------------------------------------------
# Inbox and absences


@private_page
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    # Queries: open prompts with round and pilot (and whether each pilot's usage charter is
    # still owed, in the same query); participations with pilot, team and tool; current
    # absences; pilots the user leads. Four, whatever the number of prompts.
    now = timezone.now()
    prompts = list(
        access.charter_owed(Prompt.objects.all(), request.user)
        .filter(
            participant=request.user,
            round__status=FeedbackRound.Status.OPEN,
            round__closes_at__gt=now,
        )
        .select_related("round__pilot")
        .order_by("round__closes_at", "pk")
    )
    links = edit_links(request)
    rows = [
        {
            "prompt": p,
            "round": p.round,
            "pilot": p.round.pilot,
            "closed": answering.refusal(p.round, p.round.pilot, now),
            "charter_owed": p.charter_owed,
            "edit_url": _edit_url(p, links.get(p.pk)),
        }
        for p in prompts
    ]
    participations = list(
        request.user.participations.select_related("pilot__team", "pilot__tool").order_by(
            "pilot__title"
        )
    )
    away = list(
        Absence.objects.filter(user=request.user, ends_on__gte=timezone.localdate()).order_by(
            "starts_on"
        )
    )
    led = list(pilot_questions.pilots_managed_by(request.user))
    return render(
        request,
        "feedback/inbox.html",
        {"rows": rows, "participations": participations, "absences": away, "led": led},
    )


def _edit_url(prompt: Prompt, token: str | None) -> str | None:
    if token and prompt.answered and tokens.hash_token(token) == prompt.token_hash:
        return reverse("feedback_answer", args=[token])
    return None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def away(request: HttpRequest) -> HttpResponse:
    form = AbsenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            absence = absences.mark_away(
                request.user,
                starts_on=form.cleaned_data["starts_on"],
                ends_on=form.cleaned_data["ends_on"],
            )
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("You are away from %(start)s to %(end)s: no prompts or reminders in that period.")
                % {"start": absence.starts_on, "end": absence.ends_on},
            )
            return redirect("feedback_away")
    current = Absence.objects.filter(user=request.user, ends_on__gte=timezone.localdate()).order_by(
        "starts_on"
    )
    return render(request, "feedback/away.html", {"form": form, "absences": current})


@login_required
@require_POST
def cancel_away(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        absences.cancel_absence(pk, user=request.user)
    except PermissionRefused as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Absence cancelled."))
    return redirect("feedback_away")


# ---------------------------------------------------------------------------------------------
# A lead's own questions


def _managed_pilot(request: HttpRequest, pk: int) -> Pilot | None:
    pilot = get_object_or_404(Pilot.objects.visible_to(request.user), pk=pk)
    return pilot if pilot_questions.can_manage(pilot, request.user) else None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def pilot_extra_questions(request: HttpRequest, pk: int) -> HttpResponse:
    pilot = _managed_pilot(request, pk)
    if pilot is None:
        return render(
            request,
            "feedback/message.html",
            {
                "title": _("Not allowed"),
                "message": _(
                    "Only the pilot's lead or a lead of its team can change its questions."
                ),
            },
            status=403,
        )
    form = ExtraQuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            question = pilot_questions.add_question(
                pilot.pk,
                user=request.user,
                key=data["key"],
                text=data["text"],
                kind=data["kind"],
                help_text=data["help_text"],
                required=data["required"],
                min_value=data["min_value"],
                max_value=data["max_value"],
                step=data["step"],
                min_label=data["min_label"],
                max_label=data["max_label"],
                unit=data["unit"],
                choices=form.parsed_choices(),
                language=data["language"],
                translations=form.translations(),
            )
        except ValidationFailed as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(
                request,
                _("Question “%(text)s” added; it is asked from now on.") % {"text": question.text},
            )
            return redirect("feedback_pilot_questions", pilot.pk)
    questions = list(Question.objects.filter(pilot=pilot).order_by("position", "pk"))
    answered = set(
        Question.objects.filter(pilot=pilot, answers__isnull=False).values_list("pk", flat=True)
    )
    return render(
        request,
        "feedback/pilot_questions.html",
        {
            "pilot": pilot,
            "form": form,
            "questions": [
                {
                    "question": q,
                    "words": q.localized(),
                    "also_in": [
                        str(name)
                        for code, name in settings.LANGUAGES
                        if (q.translations or {}).get(code, {}).get("text")
                    ],
                    "frozen": q.pk in answered,
                }
                for q in questions
            ],
            "max_questions": pilot_questions.MAX_EXTRA_QUESTIONS,
            "can_add": len(questions) < pilot_questions.MAX_EXTRA_QUESTIONS,
        },
    )


@login_required
@require_POST
def remove_extra_question(request: HttpRequest, pk: int) -> HttpResponse:
    question = get_object_or_404(Question, pk=pk, pilot__isnull=False)
    try:
        pilot_questions.remove_question(question.pk, user=request.user)
    except PermissionRefused as e:
        return render(
            request,
            "feedback/message.html",
            {"title": _("Not allowed"), "message": e.message},
            status=403,
        )
    except ValidationFailed as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Question removed."))
    return redirect("feedback_pilot_questions", question.pilot_id)
