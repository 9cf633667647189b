"""Benchmark: pre-filling a new release from a 100,000-unit translation memory.

    python benchmarks/memory.py            # full size (100,000 units, 60 segments)
    python benchmarks/memory.py --size 5000

Generates (deterministically) a German memory with English translations, spread
over 100 release catalogs, and a new release of 60 sentences: 20 taken from the
memory as they are, 20 near variants of memory sentences (one detail changed),
20 new sentences built from the same vocabulary. Then, in the same run, times
pressdist's pre-fill (index build reported separately; the index persists
between runs by design) and GNU ``msgmerge --compendium`` on the same data, and
prints both times, the ratio, exact and fuzzy counts, junk suggestions on the 20
new sentences and peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEAT = 3  # timed runs of each contender; medians are compared

SUBJECTS = [
    ("Die Landeshauptstadt Mainz", "The state capital Mainz"),
    ("Die Stadtverwaltung", "The city administration"),
    ("Der Oberbürgermeister", "The Lord Mayor"),
    ("Die Wirtschaftsdezernentin", "The head of the economic affairs department"),
    ("Das Umweltamt", "The environmental agency"),
    ("Die Feuerwehr", "The fire brigade"),
    ("Das Jugendamt", "The youth welfare office"),
    ("Die Stadtbibliothek", "The city library"),
    ("Der Stadtrat", "The city council"),
    ("Die Wirtschaftsförderung", "The business development agency"),
    ("Das Tiefbauamt", "The civil engineering office"),
    ("Die Volkshochschule", "The adult education centre"),
    ("Das Gesundheitsamt", "The public health office"),
    ("Die Verkehrsbehörde", "The traffic authority"),
    ("Das Kulturdezernat", "The department of culture"),
    ("Die Partnerstadt Foshan", "The twin city of Foshan"),
    ("Das Standesamt", "The registry office"),
    ("Die Stadtwerke", "The municipal utilities"),
    ("Der Sozialdezernent", "The head of social affairs"),
    ("Die Integrationsbeauftragte", "The integration commissioner"),
]
VERBS = [
    ("stellt", "presents", "vor"),
    ("eröffnet", "opens", ""),
    ("plant", "is planning", ""),
    ("fördert", "supports", ""),
    ("präsentiert", "presents", ""),
    ("unterstützt", "supports", ""),
    ("startet", "launches", ""),
    ("beendet", "completes", ""),
    ("lädt", "invites people to", "ein"),
    ("kündigt", "announces", "an"),
    ("organisiert", "organises", ""),
    ("erweitert", "extends", ""),
    ("prüft", "is reviewing", ""),
    ("saniert", "renovates", ""),
    ("veröffentlicht", "publishes", ""),
]
OBJECTS = [
    ("das neue Radverkehrskonzept", "the new cycling concept"),
    ("einen Wettbewerb für junge Gründerinnen und Gründer", "a competition for young founders"),
    ("die Sanierung der Theodor-Heuss-Brücke", "the renovation of the Theodor Heuss Bridge"),
    ("ein Förderprogramm für kleine Unternehmen", "a funding programme for small businesses"),
    ("die Ausstellung zur Stadtgeschichte", "the exhibition on the city's history"),
    ("den Ausbau der Ganztagsschulen", "the expansion of all-day schools"),
    ("einen Workshop zur Digitalisierung", "a workshop on digitalisation"),
    ("die Bürgerbeteiligung zum Rheinufer", "the public consultation on the Rhine riverside"),
    ("das Programm der Museumsnacht", "the programme of the Museum Night"),
    (
        "die Partnerschaft mit chinesischen Industriestädten",
        "the partnership with Chinese industrial cities",
    ),
    ("neue Ladestationen für Elektroautos", "new charging stations for electric cars"),
    ("die Pflanzung von 500 Stadtbäumen", "the planting of 500 city trees"),
    ("ein Konzept für bezahlbaren Wohnraum", "a concept for affordable housing"),
    ("den Haushaltsentwurf", "the draft budget"),
    ("die Kampagne für saubere Straßen", "the campaign for clean streets"),
    ("eine Studie zur Luftqualität", "a study on air quality"),
    ("den Neubau der Grundschule", "the new primary school building"),
    ("das Sommerprogramm für Kinder", "the summer programme for children"),
    ("die Erweiterung des Gewerbegebiets", "the extension of the business park"),
    ("eine Delegationsreise nach China", "a delegation trip to China"),
    ("die Modernisierung der Straßenbeleuchtung", "the modernisation of the street lighting"),
    ("ein Netzwerk für Fachkräfte", "a network for skilled workers"),
    ("den Wettbewerb um den Innovationspreis", "the competition for the innovation award"),
    ("die Öffnungszeiten der Bürgerbüros", "the opening hours of the citizens' offices"),
]
# Objects the memory never mentions, for new sentences in familiar words.
NEW_OBJECTS = [
    ("die Ergebnisse der Verkehrszählung an der Kaiserbrücke", "the results of the traffic count"),
    ("eine Lesung mit Kinderbuchautorinnen aus Dijon", "a reading by children's authors"),
    ("den Tag der offenen Tür im Abwasserwerk", "the open day at the sewage works"),
    ("ein Sicherheitskonzept für die Johannisnacht", "a security concept for St John's Night"),
    ("die Umbenennung der Hindenburgstraße", "the renaming of Hindenburgstraße"),
    ("Beratungsstunden zur Grundsteuerreform", "advice sessions on the property tax reform"),
]
PLACES = [
    ("im Rathaus", "at the town hall"),
    ("in der Altstadt", "in the old town"),
    ("in Mainz-Gonsenheim", "in Mainz-Gonsenheim"),
    ("in der Neustadt", "in the Neustadt district"),
    ("am Rheinufer", "on the banks of the Rhine"),
    ("im Stadthaus Große Bleiche", "at the Große Bleiche municipal building"),
    ("in Mainz-Bretzenheim", "in Mainz-Bretzenheim"),
    ("auf dem Zollhafen-Gelände", "on the Zollhafen site"),
    ("in der Zitadelle", "in the Citadel"),
    ("im Kurfürstlichen Schloss", "in the Electoral Palace"),
    ("in Mainz-Hechtsheim", "in Mainz-Hechtsheim"),
    ("in Mainz-Finthen", "in Mainz-Finthen"),
]
TIMES = [
    ("am Montag", "on Monday"),
    ("am Dienstag", "on Tuesday"),
    ("am Mittwoch", "on Wednesday"),
    ("am Donnerstag", "on Thursday"),
    ("am Freitag", "on Friday"),
    ("im kommenden Frühjahr", "next spring"),
    ("im Herbst", "in the autumn"),
    ("noch in diesem Jahr", "later this year"),
    ("ab dem 1. Januar", "from 1 January"),
    ("in der kommenden Woche", "next week"),
]


# Sentences a memory of city press releases does not hold: other topics, other shapes.
NEW = [
    "Wegen Bauarbeiten bleibt die Rheinstraße zwischen Fischtor und Holzturm bis Juni gesperrt.",
    "Der Wochenmarkt findet wegen des Feiertags ausnahmsweise am Samstag statt.",
    "Fundsachen können im Bürgerservice abgeholt werden, sofern ein Ausweis vorgelegt wird.",
    "Seit Jahresbeginn wurden 1.250 neue Hunde angemeldet, deutlich mehr als im Vorjahr.",
    "Die Wasserqualität des Rheins gilt nach den jüngsten Messungen als gut.",
    "Eltern werden gebeten, ihre Kinder rechtzeitig für die Kita anzumelden.",
    "Bei Glatteis sind Hauseigentümer verpflichtet, die Gehwege zu streuen.",
    "Das Fastnachtsmuseum zeigt Kostüme aus zwei Jahrhunderten.",
    "Wer ein Ehrenamt sucht, findet im Freiwilligenportal über 300 Angebote.",
    "Die Zahl der Übernachtungen stieg im dritten Quartal um 4,7 Prozent.",
    "Für die Sperrmüllabholung ist künftig eine Online-Anmeldung erforderlich.",
    "Blutspenden ist am Donnerstag im Foyer des Rathauses möglich.",
    "Im Volkspark blühen derzeit mehr als 40 Tulpensorten.",
    "Hinweise zur Briefwahl stehen auf der Internetseite der Stadt.",
    "Die Ampelanlage an der Kaiserstraße wird am Wochenende erneuert.",
    "Straßenmusik ist in der Fußgängerzone nur zur vollen Stunde erlaubt.",
    "Ein Gutachten bescheinigt der alten Brücke erhebliche Schäden am Tragwerk.",
    "Das Standesamt traut Paare künftig auch im Rosengarten.",
    "Hundehalterinnen und Hundehalter müssen die Steuermarke sichtbar tragen lassen.",
    "Die Stadt sucht Wahlhelferinnen und Wahlhelfer für die Kommunalwahl.",
]


def _sentence(rng: random.Random) -> tuple[str, str, tuple]:
    key = (
        rng.randrange(len(SUBJECTS)),
        rng.randrange(len(VERBS)),
        rng.randrange(len(OBJECTS)),
        rng.randrange(len(PLACES)),
        rng.randrange(len(TIMES)),
    )
    return (*_render(*key), key)


def _render(s, v, o, p, t) -> tuple[str, str]:
    return _render_with(s, v, OBJECTS[o], p, t)


def _render_with(s, v, obj: tuple[str, str], p, t) -> tuple[str, str]:
    vde, ven, particle = VERBS[v]
    de = f"{SUBJECTS[s][0]} {vde} {TIMES[t][0]} {PLACES[p][0]} {obj[0]}"
    de += f" {particle}." if particle else "."
    en = f"{SUBJECTS[s][1]} {ven} {obj[1]} {PLACES[p][1]} {TIMES[t][1]}."
    return de, en


def _near(key: tuple, rng: random.Random) -> tuple[str, tuple]:
    """The same sentence with one detail changed: the place or the time."""
    s, v, o, p, t = key
    if rng.random() < 0.5:
        p = (p + 1 + rng.randrange(len(PLACES) - 1)) % len(PLACES)
    else:
        t = (t + 1 + rng.randrange(len(TIMES) - 1)) % len(TIMES)
    return _render(s, v, o, p, t)[0], (s, v, o, p, t)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _po(entries: list[tuple[str, str]], language: str = "en") -> str:
    head = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Content-Transfer-Encoding: 8bit\\n"\n"Language: {language}\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
    )
    body = "".join(f"\nmsgid {_q(s)}\nmsgstr {_q(t)}\n" for s, t in entries)
    return head + body


def generate(root: Path, size: int) -> dict:
    """The workspace with its memory, and the new release; returns what is expected."""
    from pressdist.workspace import init_workspace

    rng = random.Random(20191104)
    memory: dict[str, tuple[str, tuple]] = {}
    while len(memory) < size:
        de, en, key = _sentence(rng)
        memory.setdefault(de, (en, key))
    items = list(memory.items())
    if not (root / "pressdist.toml").exists():
        init_workspace(root)
        (root / "pressdist.toml").write_text(
            (root / "pressdist.toml")
            .read_text()
            .replace('languages = ["en", "zh_CN"]', 'languages = ["en"]')
        )
    folder = root / "translations" / "en"
    folder.mkdir(parents=True, exist_ok=True)
    per = max(1, size // 100)
    for i in range(0, size, per):
        chunk = items[i : i + per]
        day = 1 + (i // per) % 28
        month = 1 + (i // per) // 28 % 12
        name = f"2018-{month:02d}-{day:02d}-release-{i // per:03d}.po"
        path = folder / name
        text = _po([(de, en) for de, (en, _) in chunk])
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    compendium = root / "compendium.po"
    if not compendium.exists():
        compendium.write_text(_po([(de, en) for de, (en, _) in items]), encoding="utf-8")
    pick = random.Random(4711)
    exact = [de for de, _ in pick.sample(items, 20)]
    near_src = pick.sample(items, 20)
    near = []
    for _, (_, key) in near_src:
        variant, variant_key = _near(key, pick)
        while variant in memory:
            variant, variant_key = _near(key, pick)
        near.append((variant, variant_key))
    # Ten new sentences on other topics, ten in the memory's own words about
    # things it never held: the latter are where a loose matcher offers junk.
    new = list(NEW[:10])
    fresh = random.Random(99)
    while len(new) < 20:
        s, v, _, p, t = _sentence(fresh)[2]
        de, _ = _render_with(s, v, fresh.choice(NEW_OBJECTS), p, t)
        if de not in new:
            new.append(de)
    segments = exact + [v for v, _ in near] + new
    body = "\n\n".join(" ".join(segments[i : i + 3]) for i in range(0, 60, 3))
    (root / "releases").mkdir(exist_ok=True)
    (root / "releases" / "2019-12-09-new.md").write_text(
        f'+++\ndate = 2019-12-09\ntitle = "Neue Pressemitteilung"\n+++\n\n{body}\n',
        encoding="utf-8",
    )
    keys = {de: key for de, (_, key) in items}
    return {"exact": set(exact), "near": dict(near), "new": set(new), "keys": keys}


def _slots_apart(a: tuple, b: tuple) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _judge(entries, expected) -> dict:
    """entries: (msgid, msgstr, fuzzy, previous_msgid)."""
    out = {"exact": 0, "fuzzy": 0, "near_correct": 0, "junk": 0}
    for msgid, msgstr, fuzzy, previous in entries:
        if not msgstr:
            continue
        if fuzzy:
            out["fuzzy"] += 1
        else:
            out["exact"] += 1
        # Correct: the suggested memory sentence differs from the variant in one
        # detail only, like the sentence the variant was made from (the memory
        # holds others just as close); judged on the generator's own slots, so
        # neither tool's similarity measure decides.
        variant = expected["near"].get(msgid)
        suggested = expected["keys"].get(previous or "")
        if variant and fuzzy and suggested and _slots_apart(variant, suggested) <= 1:
            out["near_correct"] += 1
        if msgid in expected["new"]:
            out["junk"] += 1
    return out


def run_pressdist(root: Path, expected: dict) -> dict:
    import polib

    from pressdist.source.release import load_release
    from pressdist.translation.catalog import extract
    from pressdist.translation.memory import open_memory, rebuild
    from pressdist.translation.units import keyed_segments
    from pressdist.workspace import Workspace

    ws = Workspace.open(root)
    release = load_release(ws, "2019-12-09-new")
    # msgmerge is handed segmented text (a .pot); so is pressdist's pre-fill. Module
    # imports and locale data are loaded before the clock starts (the CLI figure
    # below includes them).
    keyed = keyed_segments(release)
    from rapidfuzz import fuzz  # noqa: F401

    from pressdist.languages import Language

    Language.parse("en").english_name, Language.parse("en").plural_forms  # noqa: B018
    rebuilt = not (ws.state_dir / "memory.sqlite3").exists()
    t0 = time.perf_counter()
    if "--rebuild" in sys.argv:
        rebuild(ws)
        rebuilt = True
    open_memory(ws, "en").db.close()
    build = time.perf_counter() - t0
    prefills = []
    for _ in range(REPEAT):
        ws.po_path(release.id, "en").unlink(missing_ok=True)
        t0 = time.perf_counter()
        memory = open_memory(ws, "en")
        result = extract(ws, release, "en", memory=memory, keyed=keyed)
        prefills.append(time.perf_counter() - t0)
        memory.db.close()
    po = polib.pofile(str(result.path))
    judged = _judge(
        [(e.msgid, e.msgstr, e.fuzzy, e.previous_msgid) for e in po if not e.obsolete], expected
    )
    # The whole command as a press officer runs it: process start, imports,
    # segmentation, memory, writing.
    commands = []
    for _ in range(REPEAT):
        ws.po_path(release.id, "en").unlink(missing_ok=True)
        t0 = time.perf_counter()
        command_peak = _child(
            [sys.executable, "-m", "pressdist", "--workspace", str(root), "extract", release.id]
        )
        commands.append(time.perf_counter() - t0)
    return {
        "build": build,
        "rebuilt": rebuilt,
        "prefill": statistics.median(prefills),
        "prefills": prefills,
        "command": statistics.median(commands),
        "command_peak": command_peak,
        **judged,
    }


def _child(args: list[str]) -> float | None:
    """Run a program to its end; its own peak memory in MB (None if unmeasurable).

    A child forked from this big Python process starts with this process's
    resident size, so its own rusage overstates; GNU time (Debian: time) forks
    from a small process and reports the program's true peak.
    """
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    wrapped = [gnu_time, "-f", "peak-kb %M", *args] if gnu_time else args
    proc = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{args[0]} failed: {proc.stderr}")
    for line in proc.stderr.splitlines()[::-1]:
        if line.startswith("peak-kb "):
            return int(line.split()[1]) / 1024
    return None


def _ms(times: list[float]) -> str:
    return "/".join(f"{t * 1000:.0f}" for t in times) + " ms"


def _mb(value: float | None) -> str:
    return f"{value:.0f} MB" if value is not None else "not measured (install GNU time)"


def run_msgmerge(root: Path, expected: dict) -> dict | None:
    import polib

    from pressdist.source.release import load_release
    from pressdist.translation.units import keyed_segments
    from pressdist.workspace import Workspace

    if shutil.which("msgmerge") is None:
        return None
    ws = Workspace.open(root)
    release = load_release(ws, "2019-12-09-new")
    pot = root / "new.pot"
    pot.write_text(_po([(seg.text, "") for seg, _ in keyed_segments(release)]), encoding="utf-8")
    out = root / "msgmerge.po"
    empty = root / "empty.po"
    empty.write_text(_po([]), encoding="utf-8")
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        peak = _child(
            [
                "msgmerge",
                "--quiet",
                "--previous",
                f"--compendium={root / 'compendium.po'}",
                "-o",
                str(out),
                str(empty),
                str(pot),
            ]
        )
        times.append(time.perf_counter() - t0)
    elapsed = statistics.median(times)
    po = polib.pofile(str(out))
    judged = _judge(
        [(e.msgid, e.msgstr, e.fuzzy, e.previous_msgid) for e in po if not e.obsolete], expected
    )
    return {"time": elapsed, "times": times, "peak": peak, **judged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="memory units")
    parser.add_argument("--dir", type=Path, default=None, help="workspace folder (kept)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; medians")
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    root = args.dir or Path(tempfile.gettempdir()) / f"pressdist-bench-memory-{args.size}"
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    expected = generate(root, args.size)
    print(f"memory: {args.size:,} units in {root} (prepared in {time.perf_counter() - t0:.1f} s)")
    ours = run_pressdist(root, expected)
    # In-process peak includes the generated benchmark data; the command's is its own.
    peak_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    theirs = run_msgmerge(root, expected)
    state = "built now" if ours["rebuilt"] else "updated (kept from an earlier run)"
    print(f"pressdist index: {ours['build']:.2f} s ({state})")
    print(
        f"pressdist pre-fill (warm index): {ours['prefill'] * 1000:.0f} ms median of "
        f"{_ms(ours['prefills'])} — "
        f"{ours['exact']} exact, {ours['fuzzy']} fuzzy, {ours['near_correct']}/20 near "
        f"matches correct, {ours['junk']}/20 new sentences with a junk suggestion; "
        f"peak memory of this process {peak_ours:.0f} MB"
    )
    print(
        f"`pressdist extract` as a command (process, segmentation, pre-fill): "
        f"{ours['command'] * 1000:.0f} ms (median), peak memory {_mb(ours['command_peak'])}"
    )
    if theirs is None:
        print("msgmerge not installed (Debian: gettext); no comparison")
        return
    print(
        f"msgmerge --compendium: {theirs['time'] * 1000:.0f} ms median of "
        f"{_ms(theirs['times'])} — {theirs['exact']} exact, "
        f"{theirs['fuzzy']} fuzzy, {theirs['near_correct']}/20 near matches correct, "
        f"{theirs['junk']}/20 new sentences with a junk suggestion; "
        f"peak memory {_mb(theirs['peak'])}"
    )
    print(
        f"ratio: pressdist pre-fill is {theirs['time'] / ours['prefill']:.1f}× faster; "
        f"the whole command {theirs['time'] / ours['command']:.1f}×"
    )


if __name__ == "__main__":
    main()
