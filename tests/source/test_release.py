"""The release file format: front matter + paragraphs, read and written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressdist.errors import InputError
from pressdist.source.release import (
    MAX_TITLE,
    Release,
    dumps,
    loads,
    read_release,
    save_release,
)

SAMPLE = """\
+++
date = 2019-11-04
title = "Delegationsreise nach Foshan"
lead = "Wirtschaftsdezernentin Matz will Chancen für Mainz nutzen"
author = "rap"
place = "Mainz"
embargo = 2019-11-04T10:00:00+01:00
embargo_note = "Sperrfrist: 4. November 2019, 10 Uhr"
contact = \"\"\"
Landeshauptstadt Mainz
Telefon: 49 6131 12 22 21
\"\"\"
+++

Die Landeshauptstadt Mainz hat ihre Wirtschaftsbeziehungen zu China intensiviert. Dazu
besuchten Manuela Matz und Simone Ritter die Metropolen Foshan und Guiyang.

„Die Chancen werden weiter verfolgt“, so Wirtschaftsdezernentin Manuela Matz.
"""


def test_sample_release_is_read_completely() -> None:
    release = loads(SAMPLE, "2019-11-04-isa-foshan")
    assert release.date == dt.date(2019, 11, 4)
    assert release.title == "Delegationsreise nach Foshan"
    assert release.author == "rap"
    assert release.place == "Mainz"
    assert release.embargo == dt.datetime(
        2019, 11, 4, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert release.contact_lines == ["Landeshauptstadt Mainz", "Telefon: 49 6131 12 22 21"]
    assert len(release.paragraphs) == 2
    assert "intensiviert. Dazu besuchten" in release.paragraphs[0]  # wrapped lines joined


def test_line_numbers_point_into_the_file() -> None:
    release = loads(SAMPLE, "x")
    assert release.lines["date"] == 2
    assert release.lines["title"] == 3
    assert release.lines["contact"] == 9
    assert release.lines["paragraph 1"] == 15
    assert release.lines["paragraph 2"] == 18
    segments = release.segments()
    by_label = {s.label: s for s in segments}
    assert by_label["title"].line == 3
    assert by_label["paragraph 2"].line == 18
    assert [s.line for s in segments if s.part == "contact"] == [10, 11]


def test_segments_come_in_reading_order() -> None:
    parts = [s.part for s in loads(SAMPLE, "x").segments()]
    assert parts == ["title", "lead", "place", "embargo"] + ["paragraph"] * 3 + ["contact"] * 2


def test_default_contact_is_used_when_the_release_has_none() -> None:
    text = '+++\ndate = 2019-11-04\ntitle = "T"\n+++\n\nText.\n'
    release = loads(text, "x", default_contact="Pressestelle\nwww.example.org")
    assert release.contact_lines == ["Pressestelle", "www.example.org"]
    assert "contact" not in release.lines


def test_dumps_of_loads_gives_the_file_back() -> None:
    text = dumps(loads(SAMPLE, "x"))
    assert dumps(loads(text, "x")) == text


def test_revision_changes_with_the_file() -> None:
    a = loads(SAMPLE, "x").revision
    b = loads(SAMPLE.replace('Foshan"', 'Guiyang"'), "x").revision
    assert a != b and len(a) == 12


def test_save_and_load_a_release_file(tmp_path: Path) -> None:
    release = loads(SAMPLE, "2019-11-04-isa-foshan")
    path = tmp_path / "2019-11-04-isa-foshan.md"
    assert save_release(release, path) is True
    assert save_release(release, path) is False  # unchanged: not rewritten
    again = read_release(path)
    assert again.paragraphs == release.paragraphs
    assert again.path == path


# Errors name the file and the line ------------------------------------------------
def _error(text: str) -> InputError:
    with pytest.raises(InputError) as err:
        loads(text, "pm", path=Path("releases/pm.md"))
    return err.value


def test_wrong_date_names_file_and_line() -> None:
    err = _error('+++\ntitle = "T"\ndate = 2019-13-45\n+++\n')
    assert str(err) == "releases/pm.md:3: 'date' is not a valid date: 2019-13-45"
    assert "2019-11-04" in err.hint


def test_date_in_german_words_is_refused_with_the_line() -> None:
    err = _error('+++\ntitle = "T"\ndate = "4. November 2019"\n+++\n')
    assert err.line == 3
    assert "must be a date like 2019-11-04" in err.message


def test_embargo_without_time_zone_is_refused() -> None:
    err = _error('+++\ndate = 2019-11-04\ntitle = "T"\nembargo = 2019-11-04T10:00:00\n+++\n')
    assert err.line == 4
    assert "time zone" in err.message


def test_missing_title_is_refused() -> None:
    err = _error("+++\ndate = 2019-11-04\n+++\n\nText.\n")
    assert "no 'title'" in err.message
    assert err.path == Path("releases/pm.md")


def test_empty_title_is_refused() -> None:
    assert "'title' is empty" in _error('+++\ndate = 2019-11-04\ntitle = " "\n+++\n').message


def test_unclosed_front_matter_is_refused() -> None:
    err = _error('+++\ndate = 2019-11-04\ntitle = "T"\n\nText.\n')
    assert "not closed" in err.message
    assert err.line == 1


def test_missing_front_matter_is_refused() -> None:
    assert "must start with front matter" in _error("Nur Text.\n").message


def test_unknown_key_names_the_key_and_its_line() -> None:
    err = _error('+++\ndate = 2019-11-04\ntitle = "T"\nautor = "rap"\n+++\n')
    assert str(err) == "releases/pm.md:4: unknown front-matter key 'autor'"
    assert "author" in err.hint


def test_value_of_the_wrong_type_is_refused() -> None:
    err = _error('+++\ndate = 2019-11-04\ntitle = "T"\nlead = 3\n+++\n')
    assert (err.line, err.message) == (4, "'lead' must be text")


def test_empty_file_is_refused() -> None:
    assert "empty" in _error("\n\n").message


def test_file_with_invalid_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Mein Release.md"
    path.write_text(SAMPLE, encoding="utf-8")
    with pytest.raises(InputError, match="invalid release id") as err:
        read_release(path)
    assert err.value.path == path


def test_latin1_release_file_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(SAMPLE.encode("latin-1", errors="replace"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        read_release(path)
    assert err.value.line == 4  # "für" in the lead


# Round trip ------------------------------------------------------------------------
_line = (
    st.text(
        alphabet=st.characters(
            # A NUL is refused (see test_a_nul_is_refused_at_its_line).
            blacklist_categories=("Cs", "Zl", "Zp"),
            blacklist_characters="\n\r\0",
        ),
        min_size=1,
        max_size=60,
    )
    .map(str.strip)
    .filter(bool)
)
_paragraph = st.lists(_line, min_size=1, max_size=4).map(" ".join)
_zone = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=1)),
                         dt.timezone(dt.timedelta(hours=8))])  # fmt: skip


@st.composite
def releases(draw) -> Release:
    embargo = draw(
        st.none() | st.datetimes(timezones=_zone).map(lambda d: d.replace(microsecond=0))
    )
    return Release(
        id="x",
        date=draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))),
        title=draw(_line),
        lead=draw(st.just("") | _line),
        author=draw(st.just("") | st.from_regex(r"[a-z]{2,4}", fullmatch=True)),
        paragraphs=draw(st.lists(_paragraph, max_size=5)),
        contact="\n".join(draw(st.lists(_line, max_size=5))),
        place=draw(st.just("") | _line),
        embargo=embargo,
        embargo_note=draw(st.just("") | _line),
    )


def test_a_contact_line_of_plus_signs_does_not_end_the_front_matter() -> None:
    release = Release(id="x", date=dt.date(2019, 11, 4), title="T", contact="Presse\n+++\nMainz")
    again = loads(dumps(release), "x")
    assert again.contact_lines == ["Presse", "+++", "Mainz"]


@settings(max_examples=200, deadline=None)
@given(releases())
def test_loads_of_dumps_gives_the_release_back(release: Release) -> None:
    again = loads(dumps(release), "x")
    for name in ("date", "title", "lead", "author", "place", "embargo", "embargo_note"):
        assert getattr(again, name) == getattr(release, name), name
    assert again.paragraphs == release.paragraphs
    assert again.contact_lines == release.contact_lines
    assert dumps(again) == dumps(release)


# Hostile text ------------------------------------------------------------------------


def test_a_title_of_megabytes_is_refused_at_its_line() -> None:
    text = SAMPLE.replace("Delegationsreise nach Foshan", "Foshan " * 170_000)
    with pytest.raises(InputError, match="'title' is 1,189,999 characters long") as err:
        loads(text, "x", path=Path("releases/x.md"))
    assert err.value.line == 3 and err.value.path == Path("releases/x.md")
    assert loads(SAMPLE.replace("Delegationsreise nach Foshan", "T" * MAX_TITLE), "x")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (SAMPLE.replace("besuchten Manuela", "besuchten\x00Manuela"), 16),
        (SAMPLE.replace('author = "rap"', 'author = "r\\u0000p"'), 5),
        (SAMPLE.replace("Landeshauptstadt Mainz\n", "Landeshauptstadt\x00Mainz\n"), 10),
    ],
)
def test_a_nul_is_refused_at_its_line(text: str, line: int) -> None:
    with pytest.raises(InputError, match="NUL") as err:
        loads(text, "x", path=Path("releases/x.md"))
    assert err.value.line == line
