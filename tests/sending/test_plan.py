"""The plan and the delivery run leave out the suppressed, counted by language and reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polib
import pytest

from pressdist.audience import suppression as sp
from pressdist.errors import NotReady
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
LIST = """email,name,language
anna@example.org,Anna Becker,de
james@example.com,James Holloway,en-GB
li@example.com,Li Wei,zh_CN
chen@example.org,Chen Jing,zh-Hans
"""


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    (example_workspace / "recipients" / "test.csv").write_text(LIST, encoding="utf-8")
    return Workspace.open(example_workspace)


def _to(gateway: MemoryGateway) -> set[str]:
    return {e.recipient for e in gateway.envelopes}


def test_the_plan_counts_the_suppressed_per_language_and_reason(ws):
    sp.add(ws, "LI@example.com", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    sp.add(ws, "chen@example.org", list_name="test", reason=sp.BOUNCED, source="dsn")
    sp.add(ws, "james@example.com", list_name="presse", reason=sp.MANUAL, source="Eva")
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    assert plan.total == 2 and plan.to_send == 2
    assert plan.lines["zh_CN"].suppressed == Counter({"unsubscribed": 1, "bounced": 1})
    assert plan.lines["zh_CN"].recipients == 0
    assert plan.suppressed == Counter({"unsubscribed": 1, "bounced": 1})


def test_the_suppressed_are_never_handed_to_the_gateway_nor_journaled(ws):
    sp.add(ws, "li@example.com", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    gateway = MemoryGateway()
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=gateway))
    assert report.ok and report.sent == 3
    assert _to(gateway) == {"anna@example.org", "james@example.com", "chen@example.org"}
    assert report.suppressed == Counter({"unsubscribed": 1})
    with jr.Journal(planning.journal_path(ws)) as journal:
        assert {d.address for d in journal.deliveries(RELEASE)} == _to(gateway)


def test_resend_and_dry_run_skip_the_suppressed_too(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway()))
    sp.add(ws, "anna@example.org", list_name=None, reason=sp.COMPLAINED, source="arf")
    dry = delivery.run(planning.plan(ws, RELEASE, ["test"], resend=True), dry_run=True)
    assert dry.sent == 3 and dry.suppressed == Counter({"complained": 1})
    gateway = MemoryGateway()
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=gateway, resend=True))
    assert "anna@example.org" not in _to(gateway) and len(gateway.envelopes) == 3
    assert report.suppressed == Counter({"complained": 1})


def test_a_suppression_added_after_planning_still_holds_at_sending_time(ws):
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    sp.add(ws, "james@example.com", list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    report = delivery.run(plan)
    assert "james@example.com" not in _to(plan.gateway)
    assert report.sent == 3 and report.suppressed == Counter({"unsubscribed": 1})


def test_a_test_copy_to_a_suppressed_address_still_goes_out(ws):
    sp.add(ws, "presse@example.org", list_name=None, reason=sp.MANUAL, source="Eva")
    gateway = MemoryGateway()
    report = delivery.send_test(
        planning.plan(ws, RELEASE, [], gateway=gateway), "presse@example.org"
    )
    assert report.sent == 3 and _to(gateway) == {"presse@example.org"}


def test_an_unready_language_whose_readers_are_all_suppressed_does_not_block(ws):
    path = ws.po_path(RELEASE, "zh_CN")
    po = polib.pofile(str(path))
    next(e for e in po if e.msgstr and not e.obsolete).msgstr = ""
    po.save(str(path))
    with pytest.raises(NotReady):
        planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    for address in ("li@example.com", "chen@example.org"):
        sp.add(ws, address, list_name=None, reason=sp.UNSUBSCRIBED, source="link")
    gateway = MemoryGateway()
    plan = planning.plan(ws, RELEASE, ["test"], gateway=gateway)
    assert "zh_CN" not in plan.messages and plan.to_send == 2
    assert delivery.run(plan).sent == 2
