"""What localising the generated text with Babel costs publishing.

Run: ``.venv/bin/python bench/wording.py [seconds-per-case]`` (default 1 s). Prints:

- the one-time costs, each in a fresh interpreter: importing ``babel.dates``, importing
  ``federation.protocol.objects`` (which now imports it), and the first date written in a
  language (Babel reads that locale's CLDR data once, then keeps it);
- the per-call cost of an Event's summary line: the former hand-written French tables (copied
  here as the baseline) against Babel in French, English and German, and of a whole
  ``build_event`` for scale.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from federation.protocol.objects import (
    Addressing,
    EventView,
    PlaceView,
    build_event,
    event_summary,
    local_time,
)

PLACE = PlaceView("la Cale", "16 rue Royet", "42000", "Saint-Étienne", country="FR")
START = datetime(2022, 6, 9, 16, tzinfo=UTC)
END = datetime(2022, 6, 9, 18, tzinfo=UTC)

_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")


def _old_french_date(day: date) -> str:
    number = "1er" if day.day == 1 else str(day.day)
    return f"{_FR_DAYS[day.weekday()]} {number} {_FR_MONTHS[day.month - 1]} {day.year}"


def old_summary_fr(start_at: datetime, end_at: datetime, timezone: str,
                   place: PlaceView) -> str:
    """The hand-written implementation this replaced (same output in French)."""
    start = local_time(start_at, timezone)
    end = local_time(end_at, timezone)
    line = f"{_old_french_date(start)}, {start:%H:%M}–{end:%H:%M} ({timezone})"
    return f"{line} — {place.one_line()}"


def measure(fn: Callable[[], object], seconds: float) -> float:
    """Microseconds per call of ``fn`` over about ``seconds`` (after one warm-up call)."""
    fn()
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn()
        count += 100
    return (time.perf_counter() - started) / count * 1e6


def fresh(code: str, runs: int = 5) -> float:
    """Best wall time in ms of ``code`` in a fresh interpreter, minus an empty interpreter's."""
    def best(source: str) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", source], check=True)
            times.append(time.perf_counter() - started)
        return min(times) * 1e3
    return best(code) - best("pass")


FIRST_CALL = """
import time, datetime as d
import federation.protocol.objects as o
o.local_time(d.datetime(2022, 6, 9, 16, tzinfo=d.UTC), 'Europe/Paris')  # zoneinfo, not Babel
started = time.perf_counter()
o.event_when(d.datetime(2022, 6, 9, 16, tzinfo=d.UTC), None, 'Europe/Paris', %r)
print((time.perf_counter() - started) * 1e3)
"""


def first_call(language: str, runs: int = 5) -> float:
    """Best time in ms of the first summary in ``language`` in a fresh interpreter."""
    return min(
        float(subprocess.run([sys.executable, "-c", FIRST_CALL % language], check=True,
                             capture_output=True, text=True).stdout)
        for _ in range(runs)
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(f"Python {platform.python_version()} on {platform.machine()}")
    import babel
    print(f"Babel {babel.__version__}\n")

    print("one-time (fresh interpreter, best of 5, ms)")
    print(f"  import babel.dates                         {fresh('import babel.dates'):7.1f}")
    print(f"  import federation.protocol.objects         "
          f"{fresh('import federation.protocol.objects'):7.1f}")
    for lang in ("fr", "en", "de"):
        print(f"  first summary in {lang!r} (reads its CLDR data) {first_call(lang):7.1f}")

    assert old_summary_fr(START, END, "Europe/Paris", PLACE) == \
        event_summary(START, END, "Europe/Paris", PLACE, language="fr")
    print("\nper call (µs)")
    print(f"  summary, former French tables              "
          f"{measure(lambda: old_summary_fr(START, END, 'Europe/Paris', PLACE), seconds):7.1f}")
    for lang in ("fr", "en", "de"):
        cost = measure(lambda lang=lang: event_summary(START, END, "Europe/Paris", PLACE,
                                                       language=lang), seconds)
        print(f"  summary, Babel {lang!r}                        {cost:7.1f}")
    view = EventView(
        object_uri="https://site.example/objects/event/1",
        addressing=Addressing("https://site.example/actors/a",
                              "https://site.example/actors/a/followers"),
        name="Débat", summary_text="", content_html="<p>Texte.</p>" * 50, language="fr",
        url="https://site.example/spip.php?article1", published_at=START, start_at=START,
        end_at=END, timezone="Europe/Paris", place=PLACE)
    print(f"  build_event (whole document, fr)           "
          f"{measure(lambda: build_event(view), seconds):7.1f}")


if __name__ == "__main__":
    main()
