"""Distribution lists: encodings, separators, headers, validation, de-duplication, languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.audience.lists import (
    ERROR,
    NOTE,
    WARNING,
    ListFile,
    Recipient,
    choose_language,
    detect_encoding,
    iter_recipients,
    open_lists,
    read_list,
)
from pressdist.errors import InputError
from pressdist.mail.addresses import check_address
from pressdist.workspace import Workspace


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, name: str = "presse"):
    problems = []
    info = ListFile(name, path)
    rows = list(read_list(name, path, problems, info))
    return rows, problems, info


def errors(problems):
    return [p for p in problems if p.level == ERROR]


def test_utf8_list_with_bom_reads_names_and_header(tmp_path):
    path = write(
        tmp_path / "l.csv", "\ufeffemail,name,language\r\nanna@example.org,Anna Müller,de\r\n"
    )
    rows, problems, info = read(path)
    assert problems == []
    assert info.encoding == "utf-8-sig"
    assert rows[0].address == "anna@example.org"
    assert rows[0].name == "Anna Müller"
    assert rows[0].line == 2


def test_excel_cp1252_list_is_read_with_a_note_naming_the_line(tmp_path):
    text = "E-Mail;Name;Sprache\r\nx@example.org;Xaver;de\r\njoerg@example.org;Jörg Weiß;de\r\n"
    path = write(tmp_path / "l.csv", text, "cp1252")
    rows, problems, info = read(path)
    assert info.encoding == "cp1252"
    assert [r.name for r in rows] == ["Xaver", "Jörg Weiß"]
    assert [(p.level, p.line) for p in problems] == [(NOTE, 3)]
    assert "Windows-1252" in problems[0].message


def test_valid_utf8_is_never_read_as_cp1252(tmp_path):
    # "Ã¼" in cp1252 would be the UTF-8 bytes of ü: UTF-8 must win.
    path = write(tmp_path / "l.csv", "email,name,language\nm@example.org,Müller,de\n")
    rows, problems, info = read(path)
    assert info.encoding == "utf-8"
    assert rows[0].name == "Müller"


def test_bytes_undefined_in_cp1252_are_refused_with_the_line(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"email,name,language\na@example.org,A,de\nb@example.org,\x81\xff,de\n")
    with pytest.raises(InputError) as exc:
        read(path)
    assert exc.value.line == 3
    assert "neither UTF-8 nor Windows-1252" in exc.value.message


def test_semicolon_and_german_headers_are_recognised(tmp_path):
    path = write(
        tmp_path / "l.csv",
        "E-Mail;Name;Sprache;Organisation;Anrede\n"
        'a@example.org;"Meier; Anna";de;Rhein-Zeitung;Liebe Frau Meier\n',
    )
    rows, problems, info = read(path)
    assert info.delimiter == ";"
    assert info.columns == ["email", "name", "language", "organisation", "salutation"]
    assert rows[0].name == "Meier; Anna"
    assert rows[0].organisation == "Rhein-Zeitung"
    assert rows[0].salutation == "Liebe Frau Meier"
    assert problems == []


def test_header_with_commas_inside_a_semicolon_list_picks_the_semicolon(tmp_path):
    path = write(
        tmp_path / "l.csv", "Name;E-Mail;Sprache;Notiz, intern\nMeier, Anna;a@example.org;de;x, y\n"
    )
    rows, _, info = read(path)
    assert info.delimiter == ";"
    assert rows[0].name == "Meier, Anna"


def test_tab_separated_utf16_from_excel_unicode_text(tmp_path):
    path = write(
        tmp_path / "l.csv", "email\tname\tlanguage\r\nli@example.cn\t李明\tzh_CN\r\n", "utf-16"
    )
    rows, problems, info = read(path)
    assert info.encoding == "utf-16"
    assert rows[0].name == "李明"
    assert problems == []


def test_internationalised_domain_is_sent_in_idna_form(tmp_path):
    path = write(tmp_path / "l.csv", "email,name,language\nbob@Bücher.de,Bob,en\n")
    rows, problems, _ = read(path)
    assert problems == []
    assert rows[0].address == "bob@xn--bcher-kva.de"
    assert rows[0].key == "bob@xn--bcher-kva.de"
    assert not rows[0].smtputf8


def test_non_ascii_local_part_is_accepted_and_noted_as_smtputf8(tmp_path):
    path = write(tmp_path / "l.csv", "email,name,language\njörg@bücher.de,Jörg,de\n")
    rows, problems, _ = read(path)
    assert rows[0].smtputf8
    assert rows[0].address == "jörg@bücher.de"
    assert [p.level for p in problems] == [NOTE]
    assert "SMTPUTF8" in problems[0].message


@pytest.mark.parametrize(
    "address",
    [
        "plain",
        "a@@example.org",
        "a b@example.org",
        "Anna <a@example.org>",
        "a@localhost",
        "a@-bad-.org",
        "a..b@example.org",
        "@example.org",
        "a@exa_mple.org",
        "x" * 65 + "@e.org",
        # Valid in RFC 5322, but no mail of pressdist's can be addressed to it.
        '"odd name"@example.org',
    ],
)
def test_invalid_addresses_are_refused(address):
    with pytest.raises(ValueError):
        check_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "a@example.org",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
        "x@münchen.de",
        "用户@例子.广告",
    ],
)
def test_valid_addresses_are_accepted(address):
    check_address(address)


@given(
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10})?@[a-z]{1,10}\.(de|org|com)", fullmatch=True)
)
def test_address_identity_ignores_case(address):
    assert check_address(address.upper())[1] == check_address(address)[1]


def test_broken_rows_are_reported_with_file_and_line_and_others_still_read(tmp_path):
    path = write(
        tmp_path / "l.csv",
        "email,name,language\n"
        "a@example.org,A,de\n"
        '"b@example.org,B,en\n'
        "c@example.org,C\n"
        "d@example.org,D,en,extra\n"
        "e@example.org,E,en,,\n"
        "\n"
        "f@example.org,F,zh_CN\n",
    )
    rows, problems, _ = read(path)
    assert [r.address for r in rows] == ["a@example.org", "e@example.org", "f@example.org"]
    found = {(p.line, p.level) for p in problems}
    assert found == {(3, ERROR), (4, ERROR), (5, ERROR)}
    quote = next(p for p in problems if p.line == 3)
    assert "quote" in quote.message
    assert str(quote).startswith(f"{path}:3:")


def test_a_cell_with_line_breaks_from_excel_is_one_row_and_later_lines_stay_right(tmp_path):
    path = write(
        tmp_path / "l.csv",
        "E-Mail;Name;Sprache;Organisation;Anrede\r\n"
        'a@example.org;Anna;de;"Zeitung\nRedaktion\n\nLokales";"Sehr geehrte\nFrau A"\r\n'
        "b@example.org;Bernd;de;Radio;\r\n"
        '"c@example.org;C;de;Blatt;\r\n'  # a stray quote, never closed
        "d@example.org;Dora;en;TV;\r\n",
        "cp1252",
    )
    rows, problems, _ = read(path)
    assert [(r.address, r.line) for r in rows] == [
        ("a@example.org", 2),  # lines 2-6
        ("b@example.org", 7),
        ("d@example.org", 9),
    ]
    assert rows[0].organisation == "Zeitung Redaktion Lokales"
    assert rows[0].salutation == "Sehr geehrte Frau A"  # one line: it heads the mail
    assert [(p.line, p.message) for p in errors(problems)] == [
        (8, "a quote opened in this row is never closed")
    ]


def test_a_quote_never_closed_names_the_line_the_row_began_and_costs_only_that_row(tmp_path):
    body = "".join(f"r{i}@example.org,R{i},de\n" for i in range(30))
    path = write(tmp_path / "l.csv", 'email,name,language\n"x@example.org,X,de\n' + body)
    rows, problems, _ = read(path)
    assert [(p.line, p.level) for p in problems] == [(2, ERROR)]
    assert "never closed" in problems[0].message
    assert [r.line for r in rows] == list(range(3, 33))


def test_a_multi_line_cell_is_joined_over_at_most_twenty_lines(tmp_path):
    def listing(breaks: int) -> Path:
        cell = "\n".join(f"Zeile {i}" for i in range(breaks + 1))
        return write(
            tmp_path / f"l{breaks}.csv",
            f'email,name,language,organisation\na@example.org,A,de,"{cell}"\nb@example.org,B,de,\n',
        )

    rows, problems, _ = read(listing(19))  # a row of 20 lines
    assert problems == [] and [r.line for r in rows] == [2, 22]
    rows, problems, _ = read(listing(20))  # 21 lines: not a cell, a broken row
    assert [(p.line, p.message) for p in errors(problems)][0] == (
        2,
        "a quote opened in this row is never closed",
    )
    assert rows[-1].address == "b@example.org" and rows[-1].line == 23


def test_unknown_and_missing_languages(tmp_path):
    path = write(
        tmp_path / "l.csv",
        "email,name,language\na@example.org,A,klingon\nb@example.org,B,\nc@example.org,C,fr\n",
    )
    rows, problems, _ = read(path)
    assert [r.address for r in rows] == ["b@example.org", "c@example.org"]
    assert [(p.line, p.level) for p in problems] == [(2, ERROR), (3, WARNING)]
    assert "unknown language 'klingon'" in problems[0].message


def test_list_without_email_column_is_refused_at_line_one(tmp_path):
    path = write(tmp_path / "l.csv", "Adresse Post,name\nHauptstr. 1,A\n")
    rows, problems, _ = read(path)
    assert rows == []
    assert [(p.line, p.level) for p in errors(problems)] == [(1, ERROR)]
    assert "no e-mail column" in errors(problems)[0].message


def test_duplicates_within_a_list_warn_and_across_lists_note_and_mail_once(tmp_path):
    one = write(
        tmp_path / "presse.csv", "email,name,language\na@example.org,A,de\nA@Example.ORG,A2,en\n"
    )
    two = write(
        tmp_path / "partner.csv", "email,name,language\nb@example.org,B,en\na@EXAMPLE.org,A,en\n"
    )
    problems = []
    rows = list(iter_recipients([ListFile("presse", one), ListFile("partner", two)], problems))
    assert [r.key for r in rows] == ["a@example.org", "b@example.org"]
    assert rows[0].language == "de"  # first occurrence wins
    assert [(p.path, p.line, p.level) for p in problems] == [
        (one, 3, WARNING),
        (two, 3, NOTE),
    ]
    assert "presse" in problems[1].message


def test_unknown_list_names_the_lists_there_are(tmp_workspace):
    write(tmp_workspace / "recipients" / "presse.csv", "email,name,language\n")
    ws = Workspace.open(tmp_workspace)
    with pytest.raises(InputError) as exc:
        open_lists(ws, ["pressse"])
    assert "presse" in (exc.value.hint or "")


@pytest.mark.parametrize(
    ("requested", "language", "how"),
    [
        ("de", "de", "exact"),
        ("en", "en", "exact"),
        ("zh_CN", "zh_CN", "exact"),
        ("zh-CN", "zh_CN", "exact"),
        ("en_US", "en", "negotiated"),
        ("en-GB", "en", "negotiated"),
        ("zh", "zh_CN", "negotiated"),
        ("zh-Hans", "zh_CN", "negotiated"),
        ("zh_SG", "zh_CN", "negotiated"),
        ("de_AT", "de", "negotiated"),
        ("de-CH", "de", "negotiated"),
        ("zh-Hant", "en", "fallback"),
        ("zh_TW", "en", "fallback"),
        ("zh-HK", "en", "fallback"),
        ("fr", "en", "fallback"),
        ("", "en", "fallback"),
    ],
)
def test_language_negotiation_table(tmp_workspace, requested, language, how):
    ws = Workspace.open(tmp_workspace)
    choice = choose_language(requested, ws.config)
    assert (choice.language, choice.how) == (language, how)


def test_configured_fallback_chain_sends_traditional_chinese_readers_where_the_office_says(
    tmp_workspace,
):
    cfg_path = tmp_workspace / "pressdist.toml"
    text = cfg_path.read_text().replace(
        "[fallback]\n", '[fallback]\nzh_TW = ["zh_CN", "en"]\ndefault = ["de"]\n'
    )
    cfg_path.write_text(text)
    ws = Workspace.open(tmp_workspace)
    assert choose_language("zh_TW", ws.config).language == "zh_CN"
    assert choose_language("fr", ws.config).language == "de"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_give_rows_problems_or_an_input_error_never_a_crash(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"email,name,language\n" + data)
    try:
        rows, problems, _ = read(path)
    except InputError:
        return
    for row in rows:
        assert "@" in row.address
        assert "\n" not in row.name


# The pieces of reading a list ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "noted_line"),
    [
        ("email\na@example.org\n".encode("utf-16"), "utf-16", None),
        (b"\xef\xbb\xbfemail\na@example.org\n", "utf-8-sig", None),
        ("email\nä@example.org\n".encode(), "utf-8", None),
        ("email\na@example.org\nJörg@example.org\n".encode("cp1252"), "cp1252", 3),
    ],
)
def test_the_encoding_is_detected_and_a_guess_is_noted_at_its_line(
    tmp_path, data, encoding, noted_line
):
    path = tmp_path / "l.csv"
    path.write_bytes(data)
    found, note = detect_encoding(path)
    assert found == encoding
    assert (note.line if note else None) == noted_line


def test_nul_bytes_are_refused_at_their_line_as_not_a_csv_file(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"email\na@example.org\nb\x00@example.org\n")
    with pytest.raises(InputError) as exc:
        detect_encoding(path)
    assert exc.value.line == 3 and "binary" in exc.value.message


def test_a_header_after_blank_lines_keeps_the_file_lines_and_notes_unknown_columns(tmp_path):
    path = write(tmp_path / "l.csv", "\n\nemail,Telefon,name\na@example.org,123,A\n")
    rows, problems, info = read(path)
    assert info.columns == ["email", "name"]
    assert [(r.address, r.name, r.line) for r in rows] == [("a@example.org", "A", 4)]
    assert [(p.line, p.level) for p in problems] == [(3, NOTE), (3, WARNING)]
    assert "'Telefon' is ignored" in problems[0].message
    assert "no language column" in problems[1].message


def test_a_column_named_twice_refuses_the_list(tmp_path):
    path = write(tmp_path / "l.csv", "email,E-Mail,name\na@example.org,b@example.org,A\n")
    rows, problems, _ = read(path)
    assert rows == []
    assert [(p.line, p.level, p.message) for p in problems] == [
        (1, ERROR, "column 'E-Mail' appears twice")
    ]


def test_an_empty_list_is_one_error_at_line_one(tmp_path):
    rows, problems, _ = read(write(tmp_path / "l.csv", "\n \n"))
    assert rows == [] and [(p.line, p.level) for p in problems] == [(1, ERROR)]


def test_a_recipient_says_where_it_came_from(tmp_path):
    path = write(tmp_path / "l.csv", "email,name,language\na@example.org,A,de\n")
    [rcpt], _, _ = read(path)
    assert rcpt.where == f"{path}:2"
    assert Recipient("a@example.org", "a@example.org", list_name="presse").where == "presse"


def test_a_person_on_two_lists_is_noted_with_the_other_file_and_line(tmp_path):
    one = write(tmp_path / "presse.csv", "email\nx@example.org\na@example.org\n")
    two = write(tmp_path / "partner.csv", "email\na@example.org\n")
    problems = []
    list(iter_recipients([ListFile("presse", one), ListFile("partner", two)], problems))
    [note] = [p for p in problems if p.level == NOTE]
    assert note.message == "a@example.org is also on list 'presse' (presse.csv:3); gets one mail"
    assert str(note) == f"{two}:2: {note.message}"


_addresses = st.from_regex(
    r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10})?@[a-z]{1,10}\.(de|org|com)", fullmatch=True
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=_addresses, mask=st.lists(st.booleans(), min_size=40, max_size=40))
def test_an_address_written_in_another_case_is_the_same_recipient(tmp_path, address, mask):
    twin = "".join(c.upper() if up else c for c, up in zip(address, mask, strict=False))
    path = write(tmp_path / "case.csv", f"email,language\n{address},de\n{twin},en\n")
    problems = []
    rows = list(iter_recipients([ListFile("case", path)], problems))
    assert [(r.key, r.language) for r in rows] == [(address, "de")]
    assert [(p.line, p.level) for p in problems] == [(3, WARNING)]


# Hostile rows ------------------------------------------------------------------------


def test_addresses_equal_after_nfc_are_one_recipient(tmp_path):
    composed, decomposed = "m\u00fcller@example.de", "mu\u0308ller@example.de"
    path = write(
        tmp_path / "presse.csv",
        f"email,name,language\n{composed},Jan,de\n{decomposed.upper()},Jan again,de\n",
    )
    problems = []
    rcpts = list(iter_recipients([ListFile("presse", path)], problems))
    assert [r.address for r in rcpts] == [composed]
    [dup] = [p for p in problems if p.level == WARNING]
    assert dup.line == 3 and "already on line 2" in dup.message
    assert check_address(decomposed) == check_address(composed)


def test_a_header_field_past_the_csv_limit_is_an_error_at_its_line_not_a_crash(tmp_path):
    path = write(tmp_path / "l.csv", "email," + "x" * 200_000 + "\nanna@example.org,Anna\n")
    rows, problems, _info = read(path)
    assert rows == []
    [problem] = errors(problems)
    assert problem.line == 1 and "longer than 131,072 characters" in problem.message


def test_a_row_field_past_the_csv_limit_is_an_error_of_that_row(tmp_path):
    text = "email,name\nanna@example.org,Anna\nbob@example.org," + "B" * 200_000 + "\n"
    rows, problems, _info = read(write(tmp_path / "l.csv", text))
    assert [r.address for r in rows] == ["anna@example.org"]
    [problem] = errors(problems)
    assert problem.line == 3 and "longer than 131,072 characters" in problem.message


def test_a_quoted_mailbox_name_is_refused_at_its_row(tmp_path):
    text = 'email,name\nanna@example.org,Anna\n"""odd name""@example.org",Odd\n'
    rows, problems, _info = read(write(tmp_path / "l.csv", text))
    assert [r.address for r in rows] == ["anna@example.org"]
    [problem] = errors(problems)
    assert problem.line == 3 and "quoted mailbox name" in problem.message


def test_a_name_with_direction_overrides_or_controls_is_warned_about(tmp_path):
    text = (
        "email,name,language\n"
        "anna@example.org,Anna \u202eMüller\u202c,de\n"
        "bob@example.org,Bob \x1b[31mRed,en\n"
        "carl@example.org,Carl 李\u00a0Lee,zh_CN\n"
    )
    rows, problems, _info = read(write(tmp_path / "l.csv", text))
    assert len(rows) == 3
    warned = {p.line: p.message for p in problems if p.level == WARNING}
    assert set(warned) == {2, 3}
    assert "U+202C, U+202E" in warned[2] and "U+001B" in warned[3]


def test_a_name_of_100000_characters_is_warned_about(tmp_path):
    text = "email,name,language\nanna@example.org," + "A" * 100_000 + ",de\n"
    rows, problems, _info = read(write(tmp_path / "l.csv", text))
    assert rows[0].name == "A" * 100_000  # the list says so; only the To line is cut
    [warning] = [p for p in problems if p.level == WARNING]
    assert "100,000 characters long" in warning.message and "first 200" in warning.message
