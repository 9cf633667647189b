"""The commands behave alike where a press officer expects them to: empty
workspaces, output paths, config errors with lines, repeated imports."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURE_RELEASE

RELEASE = "2019-11-04-isa-foshan"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line(path: Path, start: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(start))


@pytest.mark.parametrize(
    ("old", "new", "at", "message"),
    [
        ('path = "outbox"', 'paht = "outbox"', "paht =", "unknown key 'gateways.outbox.paht'"),
        (
            'type = "maildir"',
            'type = "maildri"',
            'type = "maildri"',
            "gateway 'outbox' has unknown type 'maildri'",
        ),
        ('path = "outbox"', "path = 3", "path = 3", "'gateways.outbox.path' must be a string"),
    ],
)
def test_a_gateway_config_error_names_the_line_to_fix(
    example_workspace, cli, old, new, at, message
) -> None:
    config = example_workspace / "pressdist.toml"
    _replace(config, old, new)
    result = cli("send", RELEASE, "--list", "presse", "--dry-run", cwd=example_workspace)
    assert result.code == 2
    assert f"pressdist.toml:{_line(config, at)}: {message}" in result.output
    assert "Traceback" not in result.output


NO_RELEASES = "No releases yet — `pressdist import FILE` adds one."


@pytest.mark.parametrize(
    "args",
    [
        ("releases",),
        ("status",),
        ("status", "--strict"),
        ("check",),
        ("extract",),
        ("extract", "--all"),
    ],
)
def test_an_empty_workspace_is_no_error_for_commands_that_list_or_do_everything(
    tmp_workspace, cli, args
) -> None:
    result = cli(*args, cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert NO_RELEASES in result.stdout
    assert "error" not in result.output
    assert not list((tmp_workspace / "translations").rglob("*.po"))


@pytest.mark.parametrize(
    ("args", "empty"),
    [(("status", "--json"), []), (("check", "--json"), {"findings": [], "readiness": []})],
)
def test_an_empty_workspace_gives_empty_json_and_says_why_on_stderr(
    tmp_workspace, cli, args, empty
) -> None:
    import json

    result = cli(*args, cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert json.loads(result.stdout) == empty
    assert NO_RELEASES in result.stderr


@pytest.mark.parametrize("command", ["extract", "status", "check"])
def test_a_named_release_that_does_not_exist_stays_an_error(tmp_workspace, cli, command) -> None:
    result = cli(command, "2019-11-04-nope", cwd=tmp_workspace)
    assert result.code == 2
    assert "2019-11-04-nope" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("memory", "export", "--lang", "en", "-o", "{missing}/en.tmx"),
        ("preview", RELEASE, "-o", "{missing}/preview"),
        ("log", "--csv", "{missing}/log.csv"),
    ],
)
def test_an_output_path_in_a_missing_folder_is_refused_and_makes_no_folders(
    example_workspace, cli, tmp_path, args
) -> None:
    missing = tmp_path / "no" / "such"
    result = cli(*(a.format(missing=missing) for a in args), cwd=example_workspace)
    assert result.code == 2, result.output
    assert f"folder {missing} does not exist" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "no").exists()


def test_an_output_file_in_an_existing_folder_is_written(example_workspace, cli, tmp_path) -> None:
    result = cli(
        "memory", "export", "--lang", "en", "-o", tmp_path / "en.tmx", cwd=example_workspace
    )
    assert result.code == 0, result.output
    assert (tmp_path / "en.tmx").read_text(encoding="utf-8").startswith("<?xml")
    result = cli("preview", RELEASE, "-o", tmp_path / "new", cwd=example_workspace)
    assert result.code == 0, result.output
    assert (tmp_path / "new" / "index.html").is_file()


def _tmx(path: Path, english: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="de"/><body>'
        '<tu><tuv xml:lang="de"><seg>Die Stadt Mainz grüßt Foshan.</seg></tuv>'
        f'<tuv xml:lang="en"><seg>{english}</seg></tuv></tu></body></tmx>\n',
        encoding="utf-8",
    )
    return path


def test_memory_import_of_another_file_under_a_stored_name_needs_force(
    tmp_workspace, cli, tmp_path
) -> None:
    stored = tmp_workspace / "translations" / "en" / "office.tmx"
    first = _tmx(tmp_path / "office.tmx", "The city of Mainz greets Foshan.")
    result = cli("memory", "import", first, "--lang", "en", cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert "en: 1 unit stored in translations/en/office.tmx" in result.stdout
    before = stored.read_bytes()

    again = cli("memory", "import", first, "--lang", "en", cwd=tmp_workspace)
    assert again.code == 0, again.output
    assert "translations/en/office.tmx unchanged (1 unit)" in again.stdout

    other = tmp_path / "elsewhere"
    other.mkdir()
    second = _tmx(other / "office.tmx", "Mainz says hello to Foshan.")
    refused = cli("memory", "import", second, "--lang", "en", cwd=tmp_workspace)
    assert refused.code == 2
    assert "a different memory is already stored as translations/en/office.tmx" in refused.stderr
    assert "--force" in refused.stderr
    assert stored.read_bytes() == before

    forced = cli("memory", "import", second, "--lang", "en", "--force", cwd=tmp_workspace)
    assert forced.code == 0, forced.output
    assert "translations/en/office.tmx replaced (1 unit)" in forced.stdout
    assert "Mainz says hello to Foshan." in stored.read_text(encoding="utf-8")


def test_check_verdicts_stay_whole_at_80_columns(example_workspace, cli) -> None:
    result = cli("check", cwd=example_workspace, env={"COLUMNS": "80"})
    assert result.code == 1, result.output
    lines = result.stdout.splitlines()
    follow_up = "2019-12-09-isa-besuch-foshan"
    verdicts = [line for line in lines if "sendable" in line and not line.startswith(" ")]
    assert f"{follow_up} zh_CN: not sendable; readers get de" in verdicts
    assert all(len(line) <= 80 for line in verdicts)
    assert not any(line.startswith("translated)") for line in lines)
    assert f"{RELEASE} en: sendable (34/34 translated)" in lines
    at = lines.index(f"{follow_up} zh_CN: not sendable; readers get de")
    assert lines[at + 1] == "  (0/29 translated)"


def test_help_of_translation_commands_names_values_as_the_other_commands_do(cli, tmp_path) -> None:
    for command in (
        ["extract"],
        ["status"],
        ["memory", "import"],
        ["memory", "export"],
        ["memory", "search"],
    ):
        result = cli(*command, "--help", cwd=tmp_path)
        assert result.code == 0, result.output
        assert not any(f"<{kind}>" in result.stdout for kind in ("str", "path", "int")), (
            result.stdout
        )
    assert "[ID]..." in cli("extract", "--help", cwd=tmp_path).stdout
    assert "--lang LANG" in cli("extract", "--help", cwd=tmp_path).stdout
    assert "-o, --output FILE" in cli("memory", "export", "--help", cwd=tmp_path).stdout
    assert "{TEXT}" in cli("memory", "search", "--help", cwd=tmp_path).stdout


@pytest.mark.parametrize("args", [("",), ("  ",), ("Mainz", "--limit", "0")])
def test_memory_search_without_words_is_a_usage_error(example_workspace, cli, args) -> None:
    result = cli("memory", "search", *args, cwd=example_workspace)
    assert result.code == 2
    assert "Usage: pressdist memory search" in result.stderr
    assert "Traceback" not in result.output


def test_memory_export_counts_one_unit_in_the_singular(tmp_workspace, cli, tmp_path) -> None:
    tmx = _tmx(tmp_path / "office.tmx", "The city of Mainz greets Foshan.")
    assert cli("memory", "import", tmx, "--lang", "en", cwd=tmp_workspace).code == 0
    result = cli("memory", "export", "--lang", "en", "-o", tmp_path / "out.tmx", cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert "1 unit written to" in result.stderr
    rebuilt = cli("memory", "rebuild", cwd=tmp_workspace)
    assert "memory index rebuilt: 1 unit in" in rebuilt.stdout


@pytest.mark.parametrize("command", [(), ("memory",), ("recipients",)])
def test_pressdist_without_a_command_shows_its_help_and_succeeds(cli, tmp_path, command) -> None:
    result = cli(*command, cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.startswith(f"Usage: pressdist {' '.join(command)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in result.stdout
    assert result.stdout == cli(*command, "--help", cwd=tmp_path).stdout


def test_an_unknown_command_is_still_a_usage_error(cli, tmp_path) -> None:
    result = cli("sned", cwd=tmp_path)
    assert result.code == 2
    assert "No such command 'sned'" in result.stderr


def test_importing_a_release_again_under_another_file_name_warns_naming_the_first(
    example_workspace, cli, tmp_path
) -> None:
    copy = tmp_path / "neu.txt"
    copy.write_bytes(FIXTURE_RELEASE.read_bytes())
    result = cli("import", copy, cwd=example_workspace)
    assert result.code == 0, result.output
    assert "releases/2019-11-04-isa-foshan.md has the same date and title" in " ".join(
        result.stderr.split()
    )
    assert "--id 2019-11-04-isa-foshan --force" in " ".join(result.stderr.split())
    new = sorted(p.stem for p in (example_workspace / "releases").glob("2019-11-04-*.md"))
    assert new == ["2019-11-04-deutsch-chinesische-industriestaedteallianz-isa", RELEASE]


def test_importing_a_release_over_itself_does_not_warn_about_itself(example_workspace, cli) -> None:
    result = cli("import", FIXTURE_RELEASE, "--force", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "same date and title" not in result.output


def test_help_lists_the_commands_in_the_order_of_the_flow(cli, tmp_path) -> None:
    result = cli("--help", cwd=tmp_path)
    assert result.code == 0
    rows = result.stdout.split("Commands:", 1)[1].splitlines()
    commands = [row.split()[0] for row in rows if row.startswith("  ") and row[2] != " "]
    flow = [
        "init",
        "import",
        "releases",
        "extract",
        "status",
        "check",
        "preview",
        "send",
        "log",
        "report",
        "inbox",
        "serve",
    ]
    assert commands == flow + ["memory", "recipients", "suppress"]
