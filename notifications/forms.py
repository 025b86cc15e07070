from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Channel, Topic


class PreferencesForm(forms.Form):
    """A person's language, and email or nothing for each topic."""

    language = forms.ChoiceField(label=_("Language of the site and of your emails"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = list(settings.LANGUAGES)
        for topic in Topic:
            self.fields[f"topic_{topic.value}"] = forms.ChoiceField(
                label=topic.label, choices=Channel.choices, widget=forms.RadioSelect
            )

    def channels(self) -> dict[str, str]:
        return {t: self.cleaned_data[f"topic_{t}"] for t in Topic.values}

    def topic_fields(self) -> list:
        return [self[f"topic_{t}"] for t in Topic.values]
