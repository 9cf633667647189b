"""A preview of a release's mails before anything is sent.

Owns the preview folder: per language the complete ``.eml`` exactly as
``send`` would produce it (for a placeholder recipient) and its HTML body, and
one ``index.html`` showing all languages side by side: subject and headers of
each mail, whether it may be sent, and every segment with its check findings
next to it. It renders nothing itself (``mail.render``) and judges nothing
(``quality``).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist.files import atomic_write
from pressdist.mail.identity import from_header, shared_headers
from pressdist.mail.render import render
from pressdist.quality.readiness import readiness

if TYPE_CHECKING:
    from pressdist.languages import Language
    from pressdist.quality.checks import EntryResult
    from pressdist.quality.readiness import Readiness
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

PLACEHOLDER_NAME = "Erika Mustermann"
PLACEHOLDER_ADDRESS = "recipient@example.invalid"
SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Language",
    "List-Unsubscribe",
)


def sender_of(workspace: Workspace) -> str:
    """The From of the workspace's mails, as ``send`` writes it (a placeholder when unset)."""
    if not parseaddr(workspace.config.sender)[1]:
        return "press@example.invalid"
    return from_header(workspace)


def write_preview(workspace: Workspace, release: Release, folder: Path) -> Path:
    """Write the preview of ``release`` into ``folder``; return the index.html path."""
    cfg = workspace.config
    ready = readiness(workspace, release)
    available = [code for code, r in ready.items() if r.sendable]
    when = dt.datetime.combine(release.date, dt.time(9, 0), tzinfo=dt.UTC)
    shared = {**shared_headers(workspace, preview=True), "sender": sender_of(workspace)}
    columns = []
    for code in cfg.all_languages:
        message = render(workspace, release, code, available=available)
        data = message.personalise(
            to=PLACEHOLDER_ADDRESS,
            to_name=PLACEHOLDER_NAME,
            message_id=f"preview.{release.revision}.{code.bcp47}@example.invalid",
            date=when,
            **shared,
        )
        eml = folder / f"{release.id}.{code}.eml"
        body = folder / f"{release.id}.{code}.html"
        atomic_write(eml, data)
        atomic_write(body, message.html)
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        headers = [(h, str(parsed[h])) for h in SHOWN_HEADERS if parsed[h] is not None]
        r = ready[code]
        columns.append((code, message.subject, headers, r, r.results, eml.name, body.name))
    index = folder / "index.html"
    atomic_write(index, _index(release, columns))
    return index


_CSS = """
:root{color-scheme:light dark;--muted:rgba(127,127,127,.9);--line:rgba(127,127,127,.35)}
body{font-family:system-ui,"Noto Sans","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",
sans-serif;margin:0;padding:16px 20px;line-height:1.5}
h1{font-size:20px;margin:0 0 4px}
.rev{color:var(--muted);margin:0 0 16px}
table.sbs{border-collapse:collapse;width:100%;table-layout:fixed}
.sbs th,.sbs td{border:1px solid var(--line);padding:8px;vertical-align:top;text-align:left;
overflow-wrap:anywhere}
.sbs th.part,.sbs td.part{width:7em;color:var(--muted);font-size:13px}
.subject{font-weight:bold;font-size:17px;margin:0 0 6px}
dl.headers{display:grid;grid-template-columns:auto 1fr;gap:0 8px;font-size:12px;margin:0}
dl.headers dt{color:var(--muted)}dl.headers dd{margin:0}
.verdict{font-weight:bold;margin:6px 0}.ok{color:#2e8b57}.bad{color:#d9443f}
.finding{font-size:12px;margin-top:6px;padding:4px 6px;border-left:3px solid #d9443f;
background:rgba(217,68,63,.12)}
.finding.warning{border-left-color:#d4a017;background:rgba(212,160,23,.14)}
.finding code{font-size:11px}
.fuzzy{font-style:italic}.missing{color:var(--muted)}
"""


def _index(release: Release, columns: list) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>Preview: {e(release.id)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>Preview: {e(release.id)}</h1>",
        f'<p class="rev">revision {e(release.revision)} · {len(columns)} languages · '
        "what each recipient would get, with every check finding next to its segment</p>",
        '<table class="sbs">',
        '<thead><tr><th class="part">segment</th>',
    ]
    for code, *_rest in columns:
        out.append(
            f'<th data-language="{e(code)}" lang="{e(code.bcp47)}">'
            f"{e(code.own_name)} <small>({e(code)})</small></th>"
        )
    out.append("</tr></thead><tbody>")
    out.append('<tr class="mail"><td class="part">mail</td>')
    for code, subject, headers, ready, _results, eml, body in columns:
        out.append(_mail_cell(code, subject, headers, ready, eml, body))
    out.append("</tr>")
    source_rows = release.segments()
    for i, segment in enumerate(source_rows):
        out.append(f'<tr class="segment"><td class="part">{e(segment.label)}</td>')
        for code, _s, _h, _r, results, _eml, _body in columns:
            out.append(_segment_cell(code, segment.text, results[i] if results else None))
        out.append("</tr>")
    out += ["</tbody></table>", "</body>", "</html>", ""]
    return "\n".join(out)


def _mail_cell(
    code: Language, subject: str, headers: list, ready: Readiness, eml: str, body: str
) -> str:
    e = html.escape
    lang = code.bcp47
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in headers)
    if ready.sendable:
        verdict = '<p class="verdict ok">sendable</p>'
    else:
        serves = f"; readers get {e(ready.serves)}" if ready.serves else ""
        reasons = "".join(f"<li>{e(r)}</li>" for r in ready.reasons)
        verdict = f'<p class="verdict bad">not sendable{serves}</p><ul>{reasons}</ul>'
    return (
        f'<td class="mail-cell" data-language="{e(code)}">'
        f'<p class="subject" lang="{e(lang)}">{e(subject)}</p>{verdict}'
        f'<dl class="headers">{rows}</dl>'
        f'<p><a href="{e(eml)}">{e(eml)}</a> · <a href="{e(body)}">HTML body</a></p></td>'
    )


def _segment_cell(code: Language, source: str, result: EntryResult | None) -> str:
    e = html.escape
    lang = e(code.bcp47)
    if result is None:
        return f'<td lang="{lang}" data-language="{e(code)}">{e(source)}</td>'
    if result.translation.strip():
        cls = ' class="fuzzy"' if result.fuzzy else ""
        text = f"<div{cls}>{e(result.translation)}</div>"
    else:
        text = '<div class="missing" lang="en">(not translated)</div>'
    notes = "".join(
        f'<div class="finding {e(f.level)}" lang="en"><b>{e(f.check)}</b> {e(f.message)} '
        f"<code>{e(f.location)}</code></div>"
        for f in result.findings
    )
    return f'<td lang="{lang}" data-language="{e(code)}">{text}{notes}</td>'
