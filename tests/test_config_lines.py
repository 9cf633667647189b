"""Config errors point at the line to fix, also inside [gateways.NAME] tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressdist.errors import ConfigError
from pressdist.sending.gateway import build
from pressdist.workspace import GatewayConfig, line_in_table

CONFIG = """\
sender = "presse@example.org"

[send]
gateway = "office"

[gateways.outbox]
type = "maildir"
path = "outbox"

[gateways.office]
# path = "commented out"
type = "smtp"
host = "127.0.0.1"
"security" = "none"
port = "25"

[[extra]]
type = "other"
"""


@pytest.mark.parametrize(
    ("table", "key", "line"),
    [
        (("gateways", "outbox"), "type", 7),
        (("gateways", "outbox"), "path", 8),
        (("gateways", "office"), "type", 12),
        (("gateways", "office"), "security", 14),
        (("gateways", "office"), "port", 15),
        (("gateways", "office"), "path", 10),  # only in a comment there: the header
        (("gateways", "office"), None, 10),
        (("send",), "gateway", 4),
        ((), "sender", 1),
        ((), "gateway", None),
        (("gateways", "nowhere"), "type", None),
    ],
)
def test_a_key_is_found_inside_its_own_table_only(table, key, line) -> None:
    assert line_in_table(CONFIG, table, key) == line


def test_a_gateway_written_inline_or_with_dotted_keys_is_found_in_its_parent() -> None:
    text = '[send]\nmax_attempts = 3\n\n[gateways]\noutbox = { type = "maildir" }\n'
    assert line_in_table(text, ("gateways", "outbox"), "type") == 5
    text = 'sender = "x@example.org"\ngateways.office.type = "smtp"\n'
    assert line_in_table(text, ("gateways", "office"), "host") == 2


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ({"type": "maildir", "paht": "outbox"}, 8, "gateways.outbox.paht"),
        ({"type": "maildri", "path": "outbox"}, 7, "unknown type 'maildri'"),
        ({"type": "maildir", "path": 3}, 8, "must be a string"),
    ],
)
def test_gateway_config_errors_name_the_line_of_the_key(
    tmp_path: Path, table, line, message
) -> None:
    config = tmp_path / "pressdist.toml"
    key = next(k for k in table if k != "type")
    config.write_text(
        'sender = "presse@example.org"\n\n[send]\ngateway = "outbox"\n\n'
        f'[gateways.outbox]\ntype = "{table["type"]}"\n{key} = {table[key]!r}\n'.replace("'", '"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message) as err:
        build(GatewayConfig.from_table("outbox", table, config), root=tmp_path)
    assert err.value.line == line
    assert str(err.value).startswith(f"{config}:{line}: ")


def test_a_gateway_error_without_a_key_points_at_the_table(tmp_path: Path) -> None:
    config = tmp_path / "pressdist.toml"
    config.write_text(
        '[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nsecurity = "none"\n'
        'username = "press"\n',
        encoding="utf-8",
    )
    table = {"type": "smtp", "host": "127.0.0.1", "security": "none", "username": "press"}
    with pytest.raises(ConfigError, match="both 'username' and 'password_env'") as err:
        build(GatewayConfig.from_table("office", table, config), root=tmp_path)
    assert err.value.line == 5
