"""The CLI's consoles: whatever text reaches them, what they write shows it and obeys none of it."""

from __future__ import annotations

import io
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.markup import escape
from rich.table import Table

from pressdist import secrets
from pressdist.cli import shell

_anything = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def fresh_console():
    """A console of the kind the CLI prints through, writing into a string."""
    kind = type(shell.console())
    return kind(file=io.StringIO(), width=100, highlight=False, emoji=False, color_system=None)


def obeyed(text: str) -> list[str]:
    return [c for c in text if (unicodedata.category(c) == "Cc" and c != "\n") or c in _BIDI]


@settings(max_examples=200, deadline=None)
@given(_anything)
def test_no_text_printed_or_put_into_a_table_reaches_the_terminal_raw(text):
    out = fresh_console()
    out.print(f"[bold]error:[/] {escape(text)}", soft_wrap=True)
    out.print(text, markup=False)
    table = Table(title=escape(text))
    table.add_column("Name")
    table.add_row(escape(text))
    out.print(table)
    assert obeyed(out.file.getvalue()) == []


def test_a_secret_read_is_printed_as_redacted(monkeypatch):
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", "tok-shell-4711-abcdef")
    secrets.from_environment("PRESSDIST_TEST_TOKEN", "gateways.api.token_env")
    out = fresh_console()
    out.print("the service said: Bearer tok-shell-4711-abcdef")
    assert out.file.getvalue() == f"the service said: Bearer {secrets.MASK}\n"


def test_json_output_escapes_what_json_leaves_raw_and_redacts(monkeypatch, capsys):
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", "tok-shell-4711-abcdef")
    secrets.from_environment("PRESSDIST_TEST_TOKEN", "gateways.api.token_env")
    shell.print_json([{"last_error": "\x1b[2J\u009b\u202e tok-shell-4711-abcdef"}])
    printed = capsys.readouterr().out
    assert obeyed(printed) == [] and "tok-shell" not in printed
    assert '"\\u001b[2J\\u009b\\u202e [REDACTED]"' in printed
