"""Reading .po files strictly: every refusal names the file and the line."""

from __future__ import annotations

import polib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.errors import InputError
from pressdist.translation import poformat
from pressdist.translation.pofile import load_catalog

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def test_load_catalog_names_file_and_line_of_a_syntax_error(tmp_path):
    path = tmp_path / "en" / "x.po"
    path.parent.mkdir()
    path.write_text('msgid ""\nmsgstr ""\n\nmsgid "ok"\nmsgstr "unterminated\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_catalog(path, language="en")
    assert err.value.path == path and err.value.line == 5
    assert "syntax error" in err.value.message


def test_load_catalog_refuses_language_contradicting_its_folder(tmp_path):
    path = tmp_path / "x.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_CN\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_catalog(path, language="en")
    assert err.value.line == 3 and "zh_CN" in err.value.message
    assert load_catalog(path, language="zh-CN").metadata["Language"] == "zh_CN"
    path.write_text(path.read_text(encoding="utf-8").replace("zh_CN", "zh_Hans"), "utf-8")
    assert load_catalog(path, language="zh_CN").metadata["Language"] == "zh_Hans"
    path.write_text(path.read_text(encoding="utf-8").replace("zh_Hans", "zh_TW"), "utf-8")
    with pytest.raises(InputError):
        load_catalog(path, language="zh_CN")


def test_load_catalog_refuses_a_non_utf8_charset(tmp_path):
    path = tmp_path / "x.po"
    path.write_bytes(
        b'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=ISO-8859-1\\n"\n\n'
        b'msgid "Gr\xfc\xdfe"\nmsgstr "Greetings"\n'
    )
    with pytest.raises(InputError) as err:
        load_catalog(path)
    assert "ISO-8859-1" in err.value.message and err.value.line == 3


def test_a_message_defined_twice_is_refused_naming_both_lines(tmp_path):
    path = tmp_path / "x.po"
    path.write_text(
        HEADER + 'msgid "Hallo."\nmsgstr "Hi."\n\nmsgid "Hallo."\nmsgstr "Hello."\n', "utf-8"
    )
    with pytest.raises(InputError) as err:
        load_catalog(path)
    assert err.value.line == 8 and "first at line 5" in err.value.message


def test_the_same_text_in_another_context_or_obsolete_is_no_duplicate(tmp_path):
    path = tmp_path / "x.po"
    path.write_text(
        HEADER
        + 'msgid "Hallo."\nmsgstr "Hi."\n\n'
        + 'msgctxt "contact 2"\nmsgid "Hallo."\nmsgstr "Hello."\n\n'
        + '#~ msgid "Hallo."\n#~ msgstr "Hey."\n',
        "utf-8",
    )
    assert [e.msgstr for e in load_catalog(path)] == ["Hi.", "Hello.", "Hey."]


def test_a_stray_word_is_a_syntax_error_at_its_line(tmp_path):
    path = tmp_path / "x.po"
    path.write_text(HEADER + 'msgid "Hallo."\nmsgstr "Hi."\nfuzzy\n', "utf-8")
    with pytest.raises(InputError) as err:
        load_catalog(path)
    assert err.value.line == 7 and "fuzzy" in err.value.message and err.value.hint


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path):
    path = tmp_path / "x.po"
    path.write_bytes(HEADER.encode() + b'msgid "Gr\xfc\xdfe"\nmsgstr "Greetings"\n')
    with pytest.raises(InputError) as err:
        load_catalog(path)
    assert err.value.path == path and err.value.line == 5


def test_a_missing_catalog_says_to_extract(tmp_path):
    with pytest.raises(InputError) as err:
        load_catalog(tmp_path / "nowhere.po")
    assert "extract" in err.value.hint


_text = st.lists(
    st.sampled_from(list('ab ä.,"\\\n\t#~|:') + ["佛山", "\u00a0", "msgid "]), max_size=60
).map("".join)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msgid=_text.filter(lambda s: s.strip()), msgstr=_text, ctxt=st.none() | _text)
def test_every_catalog_pressdist_writes_reads_back_unchanged(tmp_path, msgid, msgstr, ctxt):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "en"}
    po.append(polib.POEntry(msgid=msgid, msgstr=msgstr, msgctxt=ctxt))
    po.append(polib.POEntry(msgid=msgid + " alt", msgstr=msgstr, obsolete=True))
    path = tmp_path / "p.po"
    path.write_text(poformat.dumps(po), encoding="utf-8")
    entry, old = list(load_catalog(path, language="en"))
    assert (entry.msgctxt, entry.msgid, entry.msgstr) == (ctxt, msgid, msgstr)
    assert old.obsolete and old.msgid == msgid + " alt"
