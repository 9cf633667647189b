"""Cutting a German paragraph into sentences for translation.

Invariant: ``"".join(split_sentences(p)) == p`` for every paragraph ``p``.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="de", clean=False, char_span=False)


def split_sentences(paragraph: str) -> list[str]:
    if not paragraph.strip():
        return [paragraph] if paragraph else []
    parts = _segmenter().segment(paragraph)
    if "".join(parts) != paragraph:
        return [paragraph]
    return parts
