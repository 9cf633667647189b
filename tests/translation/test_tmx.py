"""TMX exchange: our files read by translate-toolkit and theirs read by us."""

from __future__ import annotations

from pathlib import Path

import pytest
from translate.storage.tmx import tmxfile

from pressdist.errors import InputError
from pressdist.translation import tmx

UNITS = [
    (
        "Die ISA wurde im April 2016 gegründet.",
        "德中工业城市联盟（ISA）成立于2016年4月。",
        "2019-11-04",
    ),
    ("Mainz hat eine Exportquote von 44,3 % & mehr <viel>.", "美因茨的出口率为44.3%。", ""),
]


def test_exported_tmx_is_read_back_by_translate_toolkit_with_same_units(tmp_path):
    path = tmp_path / "zh.tmx"
    path.write_text(tmx.dumps(UNITS, "zh_CN"), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert 'srclang="de"' in text and 'xml:lang="zh-CN"' in text and 'version="1.4"' in text
    with path.open("rb") as fh:
        store = tmxfile(fh, sourcelanguage="de", targetlanguage="zh-CN")
    got = sorted((u.source, u.target) for u in store.units)
    assert got == sorted((s, t) for s, t, _ in UNITS)


def test_tmx_written_by_translate_toolkit_is_read_as_memory(tmp_path):
    store = tmxfile(sourcelanguage="de", targetlanguage="zh-CN")
    for s, t, _ in UNITS:
        store.addtranslation(s, "de", t, "zh-CN")
    path = tmp_path / "theirs.tmx"
    path.write_bytes(bytes(store))
    memory = tmx.read(path)
    assert [(u.source, tmx.target_text(u, "zh_CN")) for u in memory.units] == [
        (s, t) for s, t, _ in UNITS
    ]


def test_export_is_byte_stable_and_sorted():
    assert tmx.dumps(UNITS, "en") == tmx.dumps(list(reversed(UNITS)), "en")


def test_inline_codes_are_dropped_and_their_text_kept(tmp_path):
    path = tmp_path / "inline.tmx"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><tmx version="1.4"><header srclang="de-DE"/>'
        '<body><tu><tuv xml:lang="de-DE"><seg>Ein <bpt i="1">&lt;b&gt;</bpt>fetter'
        '<ept i="1">&lt;/b&gt;</ept> Satz.</seg></tuv><tuv xml:lang="en-GB"><seg>A bold '
        "sentence.</seg></tuv></tu></body></tmx>",
        encoding="utf-8",
    )
    unit = tmx.read(path).units[0]
    assert unit.source == "Ein fetter Satz."
    assert tmx.target_text(unit, "en") == "A bold sentence."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<tmx><header/><body><tu>", "not well-formed"),
        ("<xliff/>", "not a TMX file"),
        (
            '<tmx version="1.4"><header srclang="en"/><body><tu><tuv xml:lang="en"><seg>a</seg>'
            '</tuv><tuv xml:lang="fr"><seg>b</seg></tuv></tu></body></tmx>',
            "no unit with a de variant",
        ),
    ],
)
def test_bad_tmx_is_refused_with_a_clear_message(tmp_path: Path, content, message):
    path = tmp_path / "bad.tmx"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        tmx.read(path)
    assert message in err.value.message
    assert err.value.path == path


def test_malformed_tmx_error_names_the_line(tmp_path):
    path = tmp_path / "bad.tmx"
    path.write_text('<?xml version="1.0"?>\n<tmx>\n<header/>\n<body>\n<tu></tuv>\n', "utf-8")
    with pytest.raises(InputError) as err:
        tmx.read(path)
    assert err.value.line == 5


def test_utf16_tmx_as_some_cat_tools_export_it_is_read(tmp_path):
    path = tmp_path / "utf16.tmx"
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<tmx version="1.4"><header srclang="de-DE"/>'
        '<body><tu><tuv xml:lang="de-DE"><seg>Grüße aus Mainz</seg></tuv>'
        '<tuv xml:lang="zh-CN"><seg>来自美因茨的问候</seg></tuv></tu></body></tmx>\n'
    )
    path.write_bytes(text.encode("utf-16"))
    unit = tmx.read(path).units[0]
    assert (unit.source, tmx.target_text(unit, "zh_CN")) == ("Grüße aus Mainz", "来自美因茨的问候")
