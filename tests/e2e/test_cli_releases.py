"""`pressdist import` and `pressdist releases` as a press officer runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO.parent / "shared" / "fixtures" / "pm-2019-11-04-isa-foshan.txt"
DATA = REPO / "tests" / "data" / "importer"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _one_clear_error(result, *expected: str) -> None:
    assert result.code != 0
    assert "Traceback" not in result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], result.stderr


def test_import_writes_the_release_and_summarises_it(cli, tmp_workspace: Path) -> None:
    result = cli("import", FIXTURE, cwd=tmp_workspace)
    assert result.code == 0, result.output
    written = tmp_workspace / "releases" / "2019-11-04-isa-foshan.md"
    expected = (REPO / "releases" / "2019-11-04-isa-foshan.md").read_text(encoding="utf-8")
    assert written.read_text(encoding="utf-8") == expected
    assert "releases/2019-11-04-isa-foshan.md" in result.stdout
    assert "5 paragraphs" in result.stdout
    assert "10 contact lines" in result.stdout
    assert "warning" not in result.output


def test_imported_release_is_listed_with_its_languages(cli, tmp_workspace: Path) -> None:
    assert cli("import", FIXTURE, cwd=tmp_workspace).code == 0
    listing = cli("releases", cwd=tmp_workspace)
    assert listing.code == 0, listing.output
    row = next(ln for ln in listing.stdout.splitlines() if "2019-11-04-isa-foshan" in ln)
    assert row.split()[0] == "2019-11-04"
    assert "Delegationsreise nach Foshan" in row
    assert row.rstrip().endswith("de")
    po = tmp_workspace / "translations" / "zh_CN" / "2019-11-04-isa-foshan.po"
    po.parent.mkdir(parents=True, exist_ok=True)
    po.write_text("", encoding="utf-8")
    row = next(
        ln for ln in cli("releases", cwd=tmp_workspace).stdout.splitlines() if "isa-foshan" in ln
    )
    assert row.rstrip().endswith("de, zh_CN")


def test_example_workspace_lists_its_releases(cli, example_workspace: Path) -> None:
    result = cli("releases", cwd=example_workspace)
    assert result.code == 0, result.output
    assert "2019-11-04-isa-foshan" in result.stdout


def test_import_refuses_to_overwrite_without_force(cli, tmp_workspace: Path) -> None:
    assert cli("import", FIXTURE, cwd=tmp_workspace).code == 0
    target = tmp_workspace / "releases" / "2019-11-04-isa-foshan.md"
    target.write_text(target.read_text(encoding="utf-8") + "\nVon Hand ergänzt.\n", "utf-8")
    before = target.read_bytes()
    result = cli("import", FIXTURE, cwd=tmp_workspace)
    _one_clear_error(result, "2019-11-04-isa-foshan.md", "already exists")
    assert "--force" in result.stderr
    assert target.read_bytes() == before
    assert cli("import", FIXTURE, "--force", cwd=tmp_workspace).code == 0
    assert "Von Hand ergänzt" not in target.read_text(encoding="utf-8")


def test_import_under_a_chosen_id(cli, tmp_workspace: Path) -> None:
    result = cli("import", FIXTURE, "--id", "isa-foshan", cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert (tmp_workspace / "releases" / "isa-foshan.md").is_file()


def test_import_prints_warnings_for_ambiguous_input(cli, tmp_workspace: Path) -> None:
    result = cli("import", DATA / "pm-2020-03-12-rheinufer.txt", cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert "warning: pm-2020-03-12-rheinufer.txt:39: a page break falls" in result.stderr
    assert "1 warning — check the file" in result.stdout
    assert (tmp_workspace / "releases" / "2020-03-12-rheinufer.md").is_file()


def test_import_from_a_subfolder_of_the_workspace(cli, tmp_workspace: Path) -> None:
    result = cli("import", FIXTURE, cwd=tmp_workspace / "recipients")
    assert result.code == 0, result.output
    assert (tmp_workspace / "releases" / "2019-11-04-isa-foshan.md").is_file()


# Bad input: one line, file (and line), non-zero, nothing written ---------------------
@pytest.fixture
def unchanged(tmp_workspace: Path):
    before = _files(tmp_workspace)
    yield tmp_workspace
    assert _files(tmp_workspace) == before


def test_empty_file_is_refused(cli, unchanged: Path, tmp_path: Path) -> None:
    empty = tmp_path / "pm-leer.txt"
    empty.write_text("", encoding="utf-8")
    _one_clear_error(cli("import", empty, cwd=unchanged), "pm-leer.txt", "empty")


def test_binary_file_is_refused(cli, unchanged: Path, tmp_path: Path) -> None:
    binary = tmp_path / "pm-bild.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    _one_clear_error(cli("import", binary, cwd=unchanged), "pm-bild.txt", "binary")


def test_latin1_file_is_refused_with_its_line(cli, unchanged: Path, tmp_path: Path) -> None:
    latin1 = tmp_path / "pm-latin1.txt"
    latin1.write_bytes(FIXTURE.read_text(encoding="utf-8").encode("latin-1", errors="replace"))
    result = cli("import", latin1, cwd=unchanged)
    _one_clear_error(result, "pm-latin1.txt:7:", "not UTF-8")  # the title, "Industriestädte"
    assert "iconv" in result.stderr


def test_missing_file_is_refused(cli, unchanged: Path) -> None:
    _one_clear_error(cli("import", "gibt-es-nicht.txt", cwd=unchanged), "gibt-es-nicht.txt")


@pytest.mark.parametrize("bad_id", ["../x", "x/../../y", "Große-Feier", "a b"])
def test_bad_release_id_is_refused(cli, unchanged: Path, bad_id: str) -> None:
    result = cli("import", FIXTURE, "--id", bad_id, cwd=unchanged)
    _one_clear_error(result, "invalid release id", repr(bad_id))
    assert not (unchanged.parent / "x.md").exists()


def test_release_file_with_a_wrong_date_is_named_with_its_line(cli, tmp_workspace: Path):
    broken = tmp_workspace / "releases" / "2019-11-04-kaputt.md"
    broken.write_text('+++\ntitle = "T"\ndate = 2019-11-31\n+++\n\nText.\n', encoding="utf-8")
    before = _files(tmp_workspace)
    result = cli("releases", cwd=tmp_workspace)
    assert result.code == 2
    assert "Traceback" not in result.output
    assert "2019-11-04-kaputt.md:3: 'date' is not a valid date: 2019-11-31" in result.stderr
    assert _files(tmp_workspace) == before


def test_unknown_config_key_is_named_with_file_and_line(cli, tmp_workspace: Path) -> None:
    config = tmp_workspace / "pressdist.toml"
    # At the top: further down it would fall into a [table].
    config.write_text('# Presse\nsendr = "x@example.org"\n' + config.read_text("utf-8"), "utf-8")
    before = _files(tmp_workspace)
    lines = config.read_text(encoding="utf-8").splitlines()
    line = lines.index('sendr = "x@example.org"') + 1
    for args in (("releases",), ("import", FIXTURE)):
        result = cli(*args, cwd=tmp_workspace)
        _one_clear_error(result, f"pressdist.toml:{line}:", "unknown key 'sendr'")
    assert _files(tmp_workspace) == before


def test_import_outside_a_workspace_is_refused(cli, tmp_path: Path) -> None:
    result = cli("import", FIXTURE, cwd=tmp_path)
    _one_clear_error(result, "not inside a pressdist workspace")
    assert list(tmp_path.iterdir()) == []


def test_import_reads_a_pdf_directly(cli, tmp_workspace: Path, tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.is_file():
        pytest.skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")
    pdf = fpdf.FPDF()
    pdf.add_font("DejaVu", "", str(font))
    pdf.set_font("DejaVu", size=11)
    pdf.set_auto_page_break(False)
    pages = [
        ["4. November 2019", "Pressemitteilung: Straßenfest „Mainz feiert“",
         "(rap) Die Stadt lädt ein", "Am 3. Oktober feiern ca. 1.250 Gäste am"],
        ["Rheinufer. Der Eintritt ist frei."],
    ]  # fmt: skip
    for blocks in pages:
        pdf.add_page()
        for block in blocks:
            pdf.multi_cell(0, 6, block)
            pdf.ln(5)
        pdf.set_y(-30)
        for line in ("Pressestelle", "E-Mail: presse@example.org"):
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    source = tmp_path / "pm-2019-10-01-strassenfest.pdf"
    pdf.output(str(source))
    result = cli("import", source, cwd=tmp_workspace)
    assert result.code == 0, result.output
    assert "warning" not in result.output
    text = (tmp_workspace / "releases" / "2019-10-01-strassenfest.md").read_text("utf-8")
    assert 'title = "Straßenfest „Mainz feiert“"' in text
    assert text.endswith(
        "\nAm 3. Oktober feiern ca. 1.250 Gäste am Rheinufer. Der Eintritt ist frei.\n"
    )
    assert 'contact = """\nPressestelle\nE-Mail: presse@example.org\n"""' in text
