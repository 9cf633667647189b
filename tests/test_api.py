"""The library's front door: a script does the press office's whole job without the CLI."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

import pressdist
from pressdist.gateways.memory import MemoryGateway

RELEASE = "2019-11-04-isa-foshan"
FOLLOW_UP = "2019-12-09-isa-besuch-foshan"


def test_every_name_the_package_promises_is_there() -> None:
    for name in pressdist.__all__:
        assert getattr(pressdist, name) is not None
    with pytest.raises(AttributeError):
        pressdist.no_such_name  # noqa: B018


def test_a_script_imports_extracts_checks_renders_and_sends(
    example_workspace: Path, tmp_path: Path
) -> None:
    from conftest import FIXTURE_RELEASE

    ws = pressdist.open_workspace(example_workspace)
    assert isinstance(ws, pressdist.Workspace)

    intake = pressdist.import_release(ws, FIXTURE_RELEASE, release_id="neu-importiert")
    assert intake.target == ws.release_path("neu-importiert") and intake.target.is_file()
    assert pressdist.release(ws, "neu-importiert").paragraphs == intake.release.paragraphs
    with pytest.raises(pressdist.PressdistError, match="already exists"):
        pressdist.import_release(ws, FIXTURE_RELEASE, release_id="neu-importiert")

    results = pressdist.extract(ws, FOLLOW_UP, ["zh-CN"])
    assert [r.language for r in results] == ["zh_CN"]
    assert results[0].memory_exact > 0 and results[0].path.is_file()
    assert pressdist.status(ws, FOLLOW_UP)["zh_CN"].translated == results[0].memory_exact

    verdicts = pressdist.check(ws, RELEASE)
    assert all(verdicts[lang].sendable for lang in ("de", "en", "zh_CN"))
    assert pressdist.findings(ws, RELEASE, ["en"]) == [
        f for f in pressdist.findings(ws, RELEASE) if f.language == "en"
    ]

    message = pressdist.render(ws, RELEASE, "zh-CN")
    data = message.personalise(
        to="li.wei@example.com", message_id="m1@example.org", sender="presse@example.org"
    )
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Content-Language"] == "zh-CN" and parsed["To"] == "li.wei@example.com"

    index = pressdist.preview(ws, RELEASE, tmp_path / "preview")
    assert index.name == "index.html" and (index.parent / f"{RELEASE}.zh_CN.eml").is_file()

    gateway = MemoryGateway()
    plan = pressdist.plan_send(ws, RELEASE, ["presse"], gateway=gateway)
    report = pressdist.send(plan)
    assert report.ok and report.sent == plan.total == len(gateway.delivered) > 0
    assert len({e.recipient for e in gateway.delivered}) == plan.total

    again = pressdist.send(pressdist.plan_send(ws, RELEASE, ["presse"], gateway=MemoryGateway()))
    assert again.sent == 0  # the journal remembers: never twice


def test_a_test_copy_goes_to_one_address_in_every_sendable_language(
    example_workspace: Path,
) -> None:
    ws = pressdist.open_workspace(example_workspace)
    gateway = MemoryGateway()
    plan = pressdist.plan_send(ws, RELEASE, [], gateway=gateway)
    report = pressdist.send_test(plan, "pruefer@example.org")
    assert report.sent == len(plan.sendable) == 3
    assert {e.recipient for e in gateway.delivered} == {"pruefer@example.org"}
