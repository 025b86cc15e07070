"""System checks of the deployment that Django's own `check --deploy` does not know about."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.utils.module_loading import import_string


@register(Tags.security, deploy=True)
def check_email_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse a console or file email backend outside DEBUG.

    Every prompt email holds the recipient next to the answer link, whose token finds the
    person's anonymous response: written to the worker's output or to files, that pair would
    sit in logs for anyone who reads them. (The file backend is a console backend writing to a
    file, so one subclass test covers both, and their subclasses.)
    """
    if settings.DEBUG:
        return []
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return []  # Django reports an unimportable backend as soon as mail is sent.
    if isinstance(backend, type) and issubclass(backend, ConsoleBackend):
        return [
            Error(
                f"EMAIL_BACKEND {settings.EMAIL_BACKEND} writes every email, with its answer "
                "link, to the output or to files.",
                hint="Set EMAIL_URL to an SMTP server, e.g. smtp+tls://user:password@host:587.",
                id="aiops.E001",
            )
        ]
    return []
