"""The workspace: finding it, reading pressdist.toml strictly, creating a new one."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.cli import workspace_first
from pressdist.errors import ConfigError, InputError
from pressdist.workspace import (
    CONFIG_NAME,
    Workspace,
    init_workspace,
    load_config,
    validate_release_id,
)

REPO = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_workspace_is_found_from_a_subfolder(tmp_workspace: Path) -> None:
    deep = tmp_workspace / "releases" / "entwuerfe" / "2020"
    deep.mkdir(parents=True)
    workspace = Workspace.find(deep)
    assert workspace.root == tmp_workspace.resolve()
    assert workspace.config.organisation == "Stadt Beispiel"


def test_no_workspace_above_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not inside a pressdist workspace") as err:
        Workspace.find(tmp_path)
    assert "--workspace" in err.value.hint


def test_workspace_opened_directly_by_folder(tmp_workspace: Path) -> None:
    assert Workspace.open(tmp_workspace).root == tmp_workspace.resolve()
    with pytest.raises(ConfigError, match="no pressdist.toml here"):
        Workspace.open(tmp_workspace / "releases")


def test_workspace_option_beats_the_current_folder(cli, tmp_workspace: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("--workspace", tmp_workspace, "releases", cwd=elsewhere)
    assert result.code == 0, result.output
    assert "No releases yet" in result.stdout
    result = cli("releases", cwd=elsewhere)
    assert result.code == 2
    assert "not inside a pressdist workspace" in result.stderr


def test_layout_paths(tmp_workspace: Path) -> None:
    ws = Workspace.open(tmp_workspace)
    root = tmp_workspace.resolve()
    assert ws.release_path("2019-11-04-isa-foshan") == root / "releases/2019-11-04-isa-foshan.md"
    assert ws.po_path("2019-11-04-isa-foshan", "zh-CN") == (
        root / "translations/zh_CN/2019-11-04-isa-foshan.po"
    )
    assert ws.list_path("presse") == root / "recipients/presse.csv"
    assert ws.state_dir == root / ".pressdist"


def test_example_workspace_config_loads(example_workspace: Path) -> None:
    config = load_config(example_workspace / CONFIG_NAME)
    assert config.organisation == "Landeshauptstadt Mainz"
    assert config.sender.endswith("@example.org")
    assert config.all_languages == ["de", "en", "zh_CN"]
    assert config.fallback_chain("zh_CN") == ["en", "de"]
    assert config.fallback_chain("fr") == ["en", "de"]
    assert config.send.gateway == "outbox"
    assert config.gateways["outbox"].type == "maildir"


def test_init_config_loads_with_its_defaults(tmp_workspace: Path) -> None:
    config = load_config(tmp_workspace / CONFIG_NAME)
    assert config.languages == ["en", "zh_CN"]
    assert config.source_language == "de"
    for sub in ("releases", "translations", "recipients"):
        assert (tmp_workspace / sub).is_dir()


def test_init_refuses_an_existing_workspace(tmp_workspace: Path) -> None:
    before = (tmp_workspace / CONFIG_NAME).read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        init_workspace(tmp_workspace)
    assert (tmp_workspace / CONFIG_NAME).read_bytes() == before


def test_init_command_refuses_an_existing_workspace(cli, tmp_workspace: Path) -> None:
    result = cli("init", tmp_workspace, cwd=tmp_workspace.parent)
    assert result.code == 2
    assert "a workspace already exists here" in result.stderr
    assert "Traceback" not in result.output


def test_mistyped_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = _config(tmp_path, '# Presse\norganisation = "Stadt"\norganisaton = "Stadt"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:3: unknown key 'organisaton'"
    assert "organisation" in err.value.hint


def test_mistyped_key_in_a_table_names_the_dotted_key(tmp_path: Path) -> None:
    path = _config(tmp_path, '[send]\ngateway = "outbox"\nmax_attempt = 3\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:3: unknown key 'send.max_attempt'"


def test_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    path = _config(tmp_path, '[memory]\nthreshold = "75"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == 2
    assert "'memory.threshold' must be a whole number, not str" in err.value.message


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("max_attempts = 0", "max_attempts"),
        ("max_attempts = -3", "max_attempts"),
        ("retry_base_seconds = -1", "retry_base_seconds"),
        ("retry_max_seconds = -0.5", "retry_max_seconds"),
        ("retry_max_seconds = inf", "retry_max_seconds"),
        ("retry_base_seconds = nan", "retry_base_seconds"),
    ],
)
def test_send_attempts_and_retry_times_out_of_range_name_key_and_line(
    tmp_path: Path, setting: str, key: str
) -> None:
    path = _config(tmp_path, f'[gateways.x]\ntype = "maildir"\n[send]\ngateway = "x"\n{setting}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:5: 'send.{key}' must be ")


def test_send_retry_settings_at_their_limits_are_accepted(tmp_path: Path) -> None:
    text = "[send]\nmax_attempts = 1\nretry_base_seconds = 0\nretry_max_seconds = 0.5\n"
    assert load_config(_config(tmp_path, text)).send.max_attempts == 1


def test_boolean_is_not_accepted_as_a_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="min_translated"):
        load_config(_config(tmp_path, "[readiness]\nmin_translated = true\n"))


def test_languages_must_be_a_list_of_known_codes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a list"):
        load_config(_config(tmp_path, 'languages = "en"\n'))
    with pytest.raises(ConfigError, match="unknown language 'klingonisch'") as err:
        load_config(_config(tmp_path, 'languages = ["en", "klingonisch"]\n'))
    assert err.value.line == 1


def test_source_language_among_targets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lists the source language"):
        load_config(_config(tmp_path, 'languages = ["de", "en"]\n'))


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = _config(tmp_path, 'organisation = "Stadt"\nsender = \n')
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_config(path)
    assert err.value.line == 2


def test_gateway_without_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gateway 'office' needs a 'type'"):
        load_config(_config(tmp_path, '[gateways.office]\nhost = "mail.example.org"\n'))


def test_gateway_that_is_not_a_table_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'gateways.office' must be a table") as err:
        load_config(_config(tmp_path, '[gateways]\noffice = "smtp"\n'))
    assert err.value.line == 2


def test_latin1_config_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_bytes('# Konfiguration\norganisation = "Stadt Gießen"\n'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        load_config(path)
    assert err.value.line == 2


@pytest.mark.parametrize("bad", ["../x", "x/y", "", "Großes-Fest", "a--b", "-a", "a.md", ".."])
def test_bad_release_ids_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="invalid release id"):
        validate_release_id(bad)


def test_good_release_id_is_accepted() -> None:
    assert validate_release_id("2019-11-04-isa-foshan") == "2019-11-04-isa-foshan"


def test_a_bad_list_name_is_called_a_list_name(tmp_workspace: Path) -> None:
    with pytest.raises(InputError, match="invalid list name 'Presse'") as err:
        Workspace.open(tmp_workspace).list_path("Presse")
    assert "recipients/NAME.csv" in (err.value.hint or "")


def test_release_ids_lists_only_valid_release_files(tmp_workspace: Path) -> None:
    releases = tmp_workspace / "releases"
    (releases / "2019-11-04-a.md").write_text("x", encoding="utf-8")
    (releases / "Notizen.md").write_text("x", encoding="utf-8")
    (releases / "2019-11-05-b.txt").write_text("x", encoding="utf-8")
    assert Workspace.open(tmp_workspace).release_ids() == ["2019-11-04-a"]


def test_a_file_that_cannot_be_written_is_one_clear_error_and_leaves_no_temp_file(tmp_path):
    from pressdist.errors import PressdistError
    from pressdist.files import atomic_write

    (tmp_path / "folder").mkdir()
    with pytest.raises(PressdistError, match="cannot write the file") as err:
        atomic_write(tmp_path / "folder", "text")
    assert err.value.path == tmp_path / "folder"
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(PressdistError, match="a file stands where its folder should be"):
        atomic_write(blocker / "out.txt", "text")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["blocker", "folder"]


# [send] unsubscribe settings ------------------------------------------------------

_SEND = 'sender = "presse@example.org"\n\n[send]\nmax_attempts = 3\n'


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('unsubscribe_url = "javascript:alert(document.cookie)"', "https://HOST"),
        ('unsubscribe_url = "http://example.org/abmelden?t={token}"', "https"),
        ('unsubscribe_url = "https://example.org/u?e={email}>, <https://evil"', "'>'"),
        ('unsubscribe_url = "https://example.org/u?a=1,2"', "','"),
        ('unsubscribe_url = "https://example.org/u?e=\\"{email}\\""', "'\"'"),
        ('unsubscribe_url = "https://example.org/u?e={adresse}"', "{adresse}"),
        ('unsubscribe_url = "https://example.org/u?e={email"', "stray brace"),
        ('unsubscribe_url = "https:///abmelden"', "HOST"),
        ('unsubscribe_url = "https://{email}.example.org/"', "host"),
        ('unsubscribe_url = "https://bücher.example/abmelden"', "xn--"),
        ('unsubscribe_url = "https://example.org/u?t={token}"', "unsubscribe_secret_env"),
        ('unsubscribe_mailto = "mailto:a>, <https://evil"', "one address"),
        ('unsubscribe_mailto = "Presse <abmelden@example.org>"', "one address"),
        ('unsubscribe_mailto = "abmelden@example.org?subject=hi"', "one address"),
        ('unsubscribe_mailto = "a@example.org, b@example.org"', "one address"),
        ('unsubscribe_secret_env = "hunter2 is my password"', "environment variable"),
        ("unsubscribe_max_age_days = 0", "1 or more"),
    ],
)
def test_a_bad_unsubscribe_setting_is_refused_at_its_line(tmp_path, line, says):
    path = _config(tmp_path, _SEND + "\n" + line + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == 6
    assert err.value.path == path
    assert says in err.value.message + (err.value.hint or "")


@pytest.mark.parametrize(
    "lines",
    [
        'unsubscribe_url = "https://example.org/abmelden?t={token}"\n'
        'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"',
        'unsubscribe_url = "https://example.org/abmelden?liste=presse&e={email}#x"',
        'unsubscribe_url = "http://127.0.0.1:8025/abmelden?t={token}"\n'
        'unsubscribe_secret_env = "S"',
        'unsubscribe_url = "http://localhost/u"',
        'unsubscribe_mailto = "abmelden@example.org"',
        'unsubscribe_mailto = "mailto:abmelden@xn--bcher-kva.example"',
        "unsubscribe_max_age_days = 365",
    ],
)
def test_good_unsubscribe_settings_are_read_as_written(tmp_path, lines):
    send = load_config(_config(tmp_path, _SEND + "\n" + lines + "\n")).send
    for line in lines.split("\n"):
        key, value = line.split(" = ")
        assert str(getattr(send, key)) == value.strip('"')


def test_unsubscribe_links_last_two_years_unless_configured(tmp_path):
    assert load_config(_config(tmp_path, _SEND)).send.unsubscribe_max_age_days == 730


_SIGNED = 'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n'


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("presse-bounces", "must be one plain ASCII address"),
        ("presse+bounces@example.org", "already holds '+'"),
        ("Presse <presse-bounces@example.org>", "must be one plain ASCII address"),
        ("prässe-bounces@example.org", "must be one plain ASCII address"),
        ("die-pressestelle-der-stadt-bounces@example.org", "at most 26"),
    ],
)
def test_a_bounce_address_that_cannot_carry_a_token_is_refused_at_its_line(
    tmp_path: Path, value: str, words: str
) -> None:
    path = _config(tmp_path, f'[send]\n{_SIGNED}bounce_address = "{value}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:3:" in str(err.value) and words in str(err.value)


def test_a_bounce_address_needs_the_signing_key(tmp_path: Path) -> None:
    path = _config(tmp_path, '[send]\nbounce_address = "presse-bounces@example.org"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "needs a signing key" in str(err.value) and "unsubscribe_secret_env" in err.value.hint


def test_a_bounce_address_of_26_characters_fits_rfc_5321(tmp_path: Path) -> None:
    value = "a" * 26 + "@example.org"
    path = _config(tmp_path, f'[send]\n{_SIGNED}bounce_address = "{value}"\n')
    assert load_config(path).send.bounce_address == value


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ('path = "bounces"\nhost = "imap.example.org"\nusername = "p"', "host", "both"),
        ('host = "imap.example.org"\nsecurity = "none"\nusername = "p"', "security", "one of"),
        ('path = "bounces"\nprocessed = "delete"', "processed", "one of"),
        ('host = "imap.example.org"', "host", "no 'username'"),
        ('path = "bounces"\nsoft_bounce_limit = 0', "soft_bounce_limit", "1 or more"),
        ('host = "x"\nusername = "p"\npassword_env = "geheim=1"', "password_env", "name an env"),
    ],
)
def test_inbox_settings_are_refused_at_their_line(
    tmp_path: Path, table: str, key: str, words: str
) -> None:
    path = _config(tmp_path, f"[inbox]\n{table}\n")
    lines = path.read_text("utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith(key))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{line}:") and words in str(err.value)


def test_an_unknown_inbox_key_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, '[inbox]\npath = "bounces"\npasswort = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "inbox.passwort" in str(err.value)


def test_inbox_defaults(tmp_path: Path) -> None:
    inbox = load_config(_config(tmp_path, '[inbox]\nhost = "imap.example.org"\nusername = "p"\n'))
    assert inbox.inbox.configured and inbox.inbox.folder == "INBOX"
    assert inbox.inbox.processed == "move" and inbox.inbox.soft_bounce_limit == 3
    assert not load_config(_config(tmp_path, "")).inbox.configured


@pytest.mark.parametrize(
    "args",
    [
        ("releases", "--workspace", "{ws}"),
        ("releases", "-w", "{ws}"),
        ("releases", "--workspace={ws}"),
        ("--workspace", "{ws}", "releases"),
    ],
)
def test_the_workspace_option_works_before_and_after_the_command(
    cli, example_workspace: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli(*(a.format(ws=example_workspace) for a in args), cwd=elsewhere)
    assert result.code == 0, result.output
    assert "2019-11-04-isa-foshan" in result.stdout


@given(
    before=st.lists(st.sampled_from(["send", "x", "--yes", "-l", "presse"]), max_size=4),
    after=st.lists(st.sampled_from(["--dry-run", "y", "--list", "a"]), max_size=4),
    tail=st.lists(st.sampled_from(["-w", "--workspace", "z"]), max_size=3),
)
def test_moving_the_workspace_option_keeps_every_other_argument_in_order(
    before: list[str], after: list[str], tail: list[str]
) -> None:
    args = [*before, "--workspace", "DIR", *after, "--", *tail]
    moved = workspace_first(args)
    assert moved[:2] == ["--workspace", "DIR"]
    assert moved[2:] == [*before, *after, "--", *tail]
