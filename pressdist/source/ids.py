"""Release ids: what a new release is called when the office does not say.

Owns the slug of a German title and the id a file name or date and title
suggest, cut to a length people can type. Whether a given id is safe as a file
stem is the workspace's rule (``workspace.validate_release_id``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

STEM_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def slug(text: str, *, words: int = 6) -> str:
    """A release-id-safe slug: 'Große Straßenfeste' -> 'grosse-strassenfeste'."""
    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", text)
    return "-".join(parts[:words])


# Ids are typed, and shown whole in tables and file names: long German titles
# ("...-industriestaedteallianz-isa-delegationsreise-nach") are cut short.
MAX_ID_LENGTH = 60


def _capped(release_id: str) -> str:
    """``release_id`` cut to MAX_ID_LENGTH at a dash (mid-word only for one huge word)."""
    if len(release_id) <= MAX_ID_LENGTH:
        return release_id
    cut = release_id[: MAX_ID_LENGTH + 1].rfind("-")
    return release_id[: cut if cut > 0 else MAX_ID_LENGTH].rstrip("-")


def default_release_id(stem: str, date: dt.date, title: str) -> str:
    """The id a file name suggests: 'pm-2019-11-04-isa-foshan' -> '2019-11-04-isa-foshan'."""
    m = STEM_DATE.search(stem)
    if m:
        candidate = slug(stem[m.start() :], words=12)
        if candidate:
            return _capped(candidate)
    return _capped("-".join(p for p in (date.isoformat(), slug(title)) if p))
