"""The register of the questions a pilot's feedback asks, as the pilots app may see them.

A success metric or a metric guardrail names the feedback question that measures it by its
key. The questions belong to the feedback app, and `pilots` must not import `feedback` (the
dependency runs one way: feedback → pilots). So the feedback app registers a provider here
when it starts (`FeedbackConfig.ready`), and pilots asks through `asked_questions`.

With no provider registered, asking raises ImproperlyConfigured: accepting every key would
bring back the bug this register exists to prevent (a typo saved, approved, never judged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from .models import Pilot

# The kinds of question a provider reports (the values of feedback's Question.Kind).
NUMBER = "number"
SCALE = "scale"
YES_NO = "yes_no"
NUMERIC_KINDS = frozenset({NUMBER, SCALE})
# What can measure a success metric: a number, or yes/no (the share of 'yes').
METRIC_KINDS = NUMERIC_KINDS | {YES_NO}


@dataclass(frozen=True)
class AskedQuestion:
    """A question a pilot's rounds ask, in one language."""

    key: str
    kind: str
    kind_label: str
    text: str

    @property
    def label(self) -> str:
        """The question as a person picks it: its words, then its key."""
        return f"{self.text} ({self.key})"


Provider = Callable[["Pilot | None", "str | None"], Sequence[AskedQuestion]]
_provider: Provider | None = None


def register_provider(provider: Provider) -> None:
    """Register the function listing a pilot's asked questions; a later call replaces it.

    The provider takes the pilot (None: a pilot not saved yet, which has no questions of its
    own) and a language code (None: the active language), and returns the questions in the
    order they are asked, each key once.
    """
    global _provider
    _provider = provider


def asked_questions(pilot: Pilot | None, language: str | None = None) -> list[AskedQuestion]:
    """List the questions the pilot's next rounds ask, with their words in `language`."""
    if _provider is None:
        raise ImproperlyConfigured(
            "No provider of asked questions is registered: the feedback app registers one in "
            "FeedbackConfig.ready(). Is 'feedback' in INSTALLED_APPS?"
        )
    if pilot is not None and pilot.pk is None:
        pilot = None
    return list(_provider(pilot, language))


# ---------------------------------------------------------------------------------------------
# A pilot's own questions as data: what a template keeps and a new proposal recreates. They
# are feedback's (pilot_questions), registered here like the provider above.


@dataclass(frozen=True)
class OwnQuestions:
    """How feedback reads, checks and writes a pilot's own questions as plain data."""

    # (pilot) -> the pilot's own questions as JSON-safe dicts, in the order they are asked.
    read: Callable[[Pilot], list[dict]]
    # (rows) -> the rows as asked questions; raises ValidationFailed naming `questions-i-…`.
    check: Callable[[list], list[AskedQuestion]]
    # (pilot_id, user=…, rows=…) -> adds them to a pilot, each with its rules and its record.
    write: Callable[..., object]


_own_questions: OwnQuestions | None = None


def register_own_questions(handlers: OwnQuestions) -> None:
    """Register how a pilot's own questions are read, checked and written as data."""
    global _own_questions
    _own_questions = handlers


def own_questions() -> OwnQuestions:
    """The registered handlers of own questions as data (feedback registers them)."""
    if _own_questions is None:
        raise ImproperlyConfigured(
            "No handler of a pilot's own questions is registered: the feedback app registers "
            "them in FeedbackConfig.ready(). Is 'feedback' in INSTALLED_APPS?"
        )
    return _own_questions
