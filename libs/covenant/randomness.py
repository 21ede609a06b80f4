"""The chassis's own random generator (``RANDOM``): retry jitter, log sampling and trace ids draw from it,
never from the process-wide ``random`` state, so code that seeds or replays that state (property-based
tests, a simulation) does not see service threads draw from it."""

from __future__ import annotations

import random

RANDOM = random.Random()
