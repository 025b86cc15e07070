"""The anonymity constants, in one home: the threshold and the exposure an incident reports.

`anonymity_threshold()` is the minimum number of answers behind any figure shown: the setting
FEEDBACK_ANONYMITY_THRESHOLD (default 5), never below MIN_THRESHOLD whatever it says. The
settings module keeps the raw value; everything reads the threshold through this function.
"""

from __future__ import annotations

from django.conf import settings

MIN_THRESHOLD = 3
DEFAULT_THRESHOLD = 5
# The incident kind a participant reports when confidential data was exposed: a choice value of
# the pulse's incident question, and what the exposure guardrails look for.
EXPOSURE_VALUE = "confidential_data_exposed"


def anonymity_threshold() -> int:
    """The minimum number of answers behind any figure shown; never below MIN_THRESHOLD."""
    configured = getattr(settings, "FEEDBACK_ANONYMITY_THRESHOLD", DEFAULT_THRESHOLD)
    return max(MIN_THRESHOLD, int(configured))
