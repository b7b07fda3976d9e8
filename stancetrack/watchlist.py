"""The watchlist: actors with their aliases, policies with their propositions, and tracks.

Read from TOML, validated with messages that name the file, the line and the entry.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stancetrack.errors import WatchlistError

DEFAULT_MIN_EVIDENCE = 2
DEFAULT_MIN_SCORE_CHANGE = 0.3
DEFAULT_POSSIBLE_MIN_CONFIDENCE = 0.8  # chosen on the replays in README, "Possible shifts"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MIN_ALIAS_CHARS = 2  # a one-letter alias would match that letter everywhere
# Every key the watchlist knows, per table: anything else is a typo and is refused.
KNOWN_KEYS = {
    "": ("actors", "policies", "tracks", "detection", "extraction", "sources"),
    "actor": ("name", "aliases", "demonyms", "titles", "spokespeople"),
    "spokesperson": ("alias", "also", "titles", "from", "to"),
    "policy": ("name", "proposition", "keywords"),
    "track": ("actor", "policy", "min_evidence", "min_score_change"),
    "detection": ("min_evidence", "min_score_change", "possible_min_confidence"),
    "extraction": ("policy_reach", "languages"),
    "sources": ("feeds", "urls", "delay", "user_agent"),
}


@dataclass(frozen=True)
class Spokesperson:
    """A person who speaks for an actor between two dates (either end may be open)."""

    alias: str
    also: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None
    titles: tuple[str, ...] = ()  # their office ("chancellor"): "the chancellor" refers to them

    def names(self) -> tuple[str, ...]:
        return (self.alias, *self.also)

    def valid_on(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)


@dataclass(frozen=True)
class ActorSpec:
    key: str
    name: str
    aliases: tuple[str, ...]
    demonyms: tuple[str, ...] = ()
    spokespeople: tuple[Spokesperson, ...] = ()
    titles: tuple[str, ...] = ()  # office nouns for the actor itself ("foreign ministry")

    @property
    def fingerprint(self) -> str:
        spec: dict[str, Any] = {
            "name": self.name,
            "aliases": self.aliases,
            "demonyms": self.demonyms,
            "spokespeople": [
                [s.names(), str(s.valid_from), str(s.valid_to)]
                + ([list(s.titles)] if s.titles else [])
                for s in self.spokespeople
            ],
        }
        if self.titles:  # only when set, so watchlists without titles keep their fingerprints
            spec["titles"] = self.titles
        return _digest(spec)


@dataclass(frozen=True)
class PolicySpec:
    key: str
    name: str
    proposition: str
    keywords: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return _digest({"proposition": self.proposition, "keywords": self.keywords})


@dataclass(frozen=True)
class TrackSpec:
    actor: str
    policy: str
    min_evidence: int | None = None
    min_score_change: float | None = None


@dataclass(frozen=True)
class DetectionSettings:
    """Shift-detection thresholds: see docs in README, "Shift detection"."""

    min_evidence: int = DEFAULT_MIN_EVIDENCE
    min_score_change: float = DEFAULT_MIN_SCORE_CHANGE
    # How sure one of the newest stories must be to report a possible shift (README,
    # "Possible shifts": lower reports sooner with more false alarms).
    possible_min_confidence: float = DEFAULT_POSSIBLE_MIN_CONFIDENCE


POLICY_REACH = ("sentence", "paragraph", "article")
DEFAULT_POLICY_REACH = "paragraph"
DEFAULT_LANGUAGES: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class ExtractionSettings:
    """How far a named policy reaches (README, "How it decides"): see extract.Extractor; and
    which article languages are analysed (the packaged models read English only)."""

    policy_reach: str = DEFAULT_POLICY_REACH
    languages: tuple[str, ...] = DEFAULT_LANGUAGES


@dataclass(frozen=True)
class SourceSettings:
    """[sources]: feeds polled and pages fetched by every `run`, and how politely.

    `delay` and `user_agent` are None when the watchlist leaves them to flags and defaults.
    """

    feeds: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    delay: float | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Watchlist:
    path: Path
    actors: dict[str, ActorSpec]
    policies: dict[str, PolicySpec]
    tracks: tuple[TrackSpec, ...]
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
    sources: SourceSettings = field(default_factory=SourceSettings)  # not in the fingerprint

    @property
    def fingerprint(self) -> str:
        return _digest(
            {
                "actors": {k: a.fingerprint for k, a in sorted(self.actors.items())},
                "policies": {k: p.fingerprint for k, p in sorted(self.policies.items())},
                "tracks": [[t.actor, t.policy] for t in self.tracks],
            }
        )


def track_fingerprint(actor: ActorSpec, policy: PolicySpec, extraction: str = "") -> str:
    """Changes exactly when the evidence for this actor x policy pair must be redone.

    `extraction` names the extraction rules in force (their version and settings), so a
    stancetrack that finds evidence differently redoes the tracks once.
    """
    parts = [actor.fingerprint, policy.fingerprint]
    return _digest(parts + [extraction] if extraction else parts)


def _digest(value: Any) -> str:
    encoded = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


class _Locator:
    """Finds the line of an entry in the TOML text, so errors can point at it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, pattern: str, nth: int = 0, after: int = 0) -> int | None:
        regex = re.compile(pattern)
        seen = 0
        for number, line in enumerate(self.lines[after:], start=after + 1):
            if regex.search(line):
                if seen == nth:
                    return number
                seen += 1
        return None

    def error(self, line: int | None, entry: str, problem: str) -> WatchlistError:
        where = f"{self.path}:{line}" if line else str(self.path)
        return WatchlistError(f"{where}: {entry}: {problem}")


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and validate a watchlist TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WatchlistError(
            f"watchlist not found: {path} (pass --config or set STANCETRACK_CONFIG)"
        ) from None
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise WatchlistError(f"cannot read watchlist {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WatchlistError(f"{path}: invalid TOML: {exc}") from None
    return parse_watchlist(data, path, text)


def parse_watchlist(data: dict[str, Any], path: Path, text: str = "") -> Watchlist:
    loc = _Locator(path, text)
    _check_keys(loc, data, "", "the watchlist", None)
    actors = {key: _parse_actor(loc, key, raw) for key, raw in _table(loc, data, "actors").items()}
    policies = {
        key: _parse_policy(loc, key, raw) for key, raw in _table(loc, data, "policies").items()
    }
    _check_aliases_unique(loc, actors)
    tracks = _parse_tracks(loc, data.get("tracks", []), actors, policies)
    detection = _parse_detection(loc, data.get("detection", {}))
    extraction = _parse_extraction(loc, data.get("extraction", {}))
    sources = _parse_sources(loc, data.get("sources", {}))
    return Watchlist(path, actors, policies, tuple(tracks), detection, extraction, sources)


def _parse_extraction(loc: _Locator, raw: Any) -> ExtractionSettings:
    line = loc.line_of(r"^\s*\[extraction\]")
    if not isinstance(raw, dict):
        raise loc.error(line, "extraction", "must be a table")
    _check_keys(loc, raw, "extraction", "extraction", line)
    reach = raw.get("policy_reach", DEFAULT_POLICY_REACH)
    if reach not in POLICY_REACH:
        raise loc.error(
            line, "extraction", f"'policy_reach' must be one of {', '.join(POLICY_REACH)}"
        )
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    if "languages" in raw:
        languages = _strings(loc, raw, "languages", "extraction", line, required=True)
        bad = [code for code in languages if not re.fullmatch(r"[a-z]{2,3}", code)]
        if bad:
            problem = f"'languages' must be language codes such as 'en', not {bad[0]!r}"
            raise loc.error(line, "extraction", problem)
    return ExtractionSettings(str(reach), languages)


def _parse_sources(loc: _Locator, raw: Any) -> SourceSettings:
    from stancetrack.ingest.fetch import check_url

    line = loc.line_of(r"^\s*\[sources\]")
    if not isinstance(raw, dict):
        raise loc.error(line, "sources", "must be a table")
    _check_keys(loc, raw, "sources", "sources", line)
    lists = {}
    for name in ("feeds", "urls"):
        values = _strings(loc, raw, name, "sources", line, required=False)
        for value in values:
            problem = check_url(value)
            if problem:
                at = loc.line_of(re.escape(value)) or line
                raise loc.error(at, f"sources.{name}", problem)
        lists[name] = values
    delay = raw.get("delay")
    if delay is not None and (
        isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600
    ):
        raise loc.error(line, "sources", "'delay' must be a number of seconds between 0 and 3600")
    user_agent = raw.get("user_agent")
    if user_agent is not None and (not isinstance(user_agent, str) or not user_agent.strip()):
        raise loc.error(line, "sources", "'user_agent' must be a non-empty string")
    return SourceSettings(
        lists["feeds"],
        lists["urls"],
        float(delay) if delay is not None else None,
        user_agent.strip() if user_agent else None,
    )


def _table(loc: _Locator, data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name)
    if not table:
        raise loc.error(None, name, f"no [{name}.<id>] entries; at least one is needed")
    if not isinstance(table, dict):
        raise loc.error(loc.line_of(rf"^\s*{name}\s*="), name, "must be a table of entries")
    for key, raw in table.items():
        line = loc.line_of(rf"^\s*\[{name}\.{re.escape(key)}\]")
        if not KEY_PATTERN.match(key):
            raise loc.error(line, f"{name}.{key}", "ids use lowercase letters, digits, - and _")
        if not isinstance(raw, dict):
            raise loc.error(line, f"{name}.{key}", "must be a table")
    return table


def _check_keys(
    loc: _Locator, raw: dict[str, Any], kind: str, entry: str, line: int | None
) -> None:
    """Refuse unknown keys, suggesting the known one a typo was probably meant to be."""
    known = KNOWN_KEYS[kind]
    for key in raw:
        if key in known:
            continue
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{guess[0]}'?)" if guess else f" (known: {', '.join(known)})"
        key_line = (
            loc.line_of(rf"^\s*(\[+\s*)?{re.escape(key)}\s*(=|\]|\.)", after=(line or 1) - 1)
            or line
        )
        raise loc.error(key_line, entry, f"unknown key '{key}'{hint}")


def _string(
    loc: _Locator, raw: dict[str, Any], field_name: str, entry: str, line: int | None
) -> str:
    value = raw.get(field_name)
    if not isinstance(value, str) or not value.strip():
        raise loc.error(line, entry, f"'{field_name}' must be a non-empty string")
    return value.strip()


def _strings(
    loc: _Locator,
    raw: dict[str, Any],
    field_name: str,
    entry: str,
    line: int | None,
    *,
    required: bool,
) -> tuple[str, ...]:
    value = raw.get(field_name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise loc.error(line, entry, f"'{field_name}' must be a list of non-empty strings")
    if required and not value:
        raise loc.error(line, entry, f"'{field_name}' needs at least one entry")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _date(loc: _Locator, value: Any, entry: str, line: int | None, field_name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        raise loc.error(
            line, entry, f"'{field_name}' must be a date (YYYY-MM-DD), not a timestamp: {value}"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise loc.error(line, entry, f"'{field_name}' is not a date (YYYY-MM-DD): {value!r}")


def _parse_actor(loc: _Locator, key: str, raw: dict[str, Any]) -> ActorSpec:
    entry = f"actors.{key}"
    line = loc.line_of(rf"^\s*\[actors\.{re.escape(key)}\]")
    _check_keys(loc, raw, "actor", entry, line)
    name = raw.get("name") or key
    aliases = _strings(loc, raw, "aliases", entry, line, required=False) or (name,)
    demonyms = _strings(loc, raw, "demonyms", entry, line, required=False)
    people = []
    for index, person in enumerate(raw.get("spokespeople", [])):
        p_line = loc.line_of(rf"^\s*\[\[actors\.{re.escape(key)}\.spokespeople\]\]", nth=index)
        p_entry = f"{entry}.spokespeople[{index + 1}]"
        if not isinstance(person, dict):
            raise loc.error(p_line, p_entry, "must be a table ([[actors.<id>.spokespeople]])")
        _check_keys(loc, person, "spokesperson", p_entry, p_line)
        alias = _string(loc, person, "alias", p_entry, p_line)
        also = _strings(loc, person, "also", p_entry, p_line, required=False)
        titles = _strings(loc, person, "titles", p_entry, p_line, required=False)
        start = _date(loc, person.get("from"), p_entry, p_line, "from")
        end = _date(loc, person.get("to"), p_entry, p_line, "to")
        if start and end and end < start:
            raise loc.error(p_line, p_entry, f"'to' ({end}) is before 'from' ({start})")
        people.append(Spokesperson(alias, also, start, end, titles))
        _check_alias_lengths(loc, p_line, p_entry, (alias, *also, *titles))
    titles = _strings(loc, raw, "titles", entry, line, required=False)
    _check_alias_lengths(loc, line, entry, (*aliases, *demonyms, *titles))
    return ActorSpec(key, str(name), aliases, demonyms, tuple(people), titles)


def _check_alias_lengths(
    loc: _Locator, line: int | None, entry: str, names: tuple[str, ...]
) -> None:
    for name in names:
        if len(re.sub(r"\W", "", name)) < MIN_ALIAS_CHARS:
            raise loc.error(
                line,
                entry,
                f"alias '{name}' is shorter than {MIN_ALIAS_CHARS} letters: it would match "
                "that letter in every article",
            )


def _parse_policy(loc: _Locator, key: str, raw: dict[str, Any]) -> PolicySpec:
    entry = f"policies.{key}"
    line = loc.line_of(rf"^\s*\[policies\.{re.escape(key)}\]")
    _check_keys(loc, raw, "policy", entry, line)
    proposition = _string(loc, raw, "proposition", entry, line)
    keywords = _strings(loc, raw, "keywords", entry, line, required=True)
    return PolicySpec(key, str(raw.get("name") or key), proposition, keywords)


def _check_aliases_unique(loc: _Locator, actors: dict[str, ActorSpec]) -> None:
    owner: dict[str, str] = {}
    for actor in actors.values():
        names = [*actor.aliases, *(n for s in actor.spokespeople for n in s.names())]
        for alias in names:
            folded = alias.casefold()
            if folded in owner and owner[folded] != actor.key:
                line = loc.line_of(re.escape(f'"{alias}"'))
                raise loc.error(
                    line,
                    f"actors.{actor.key}",
                    f"alias '{alias}' is already an alias of actors.{owner[folded]}",
                )
            owner[folded] = actor.key


def _parse_tracks(
    loc: _Locator, raw_tracks: Any, actors: dict[str, ActorSpec], policies: dict[str, PolicySpec]
) -> list[TrackSpec]:
    if not isinstance(raw_tracks, list) or not raw_tracks:
        raise loc.error(None, "tracks", "no [[tracks]] entries; at least one is needed")
    tracks: list[TrackSpec] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(raw_tracks):
        header = loc.line_of(r"^\s*\[\[tracks\]\]", nth=index)
        entry = f"tracks[{index + 1}]"
        if not isinstance(raw, dict):
            raise loc.error(header, entry, "must be a table ([[tracks]])")
        _check_keys(loc, raw, "track", entry, header)
        actor = _string(loc, raw, "actor", entry, header)
        policy = _string(loc, raw, "policy", entry, header)
        if actor not in actors:
            line = loc.line_of(r"^\s*actor\s*=", after=header or 0) if header else None
            raise loc.error(
                line, entry, f"unknown actor '{actor}' (known: {', '.join(sorted(actors))})"
            )
        if policy not in policies:
            line = loc.line_of(r"^\s*policy\s*=", after=header or 0) if header else None
            raise loc.error(
                line, entry, f"unknown policy '{policy}' (known: {', '.join(sorted(policies))})"
            )
        if (actor, policy) in seen:
            raise loc.error(header, entry, f"{actor} x {policy} is tracked twice")
        seen.add((actor, policy))
        min_evidence = raw.get("min_evidence")
        min_change = raw.get("min_score_change")
        _check_thresholds(loc, header, entry, min_evidence, min_change)
        tracks.append(TrackSpec(actor, policy, min_evidence, min_change))
    return tracks


def _check_thresholds(
    loc: _Locator, line: int | None, entry: str, min_evidence: Any, min_change: Any
) -> None:
    if min_evidence is not None and (
        isinstance(min_evidence, bool) or not isinstance(min_evidence, int) or min_evidence < 1
    ):
        raise loc.error(line, entry, "'min_evidence' must be a whole number >= 1")
    if min_change is not None and (
        not isinstance(min_change, int | float) or not 0 <= min_change <= 2
    ):
        raise loc.error(line, entry, "'min_score_change' must be a number between 0 and 2")


def _parse_detection(loc: _Locator, raw: Any) -> DetectionSettings:
    line = loc.line_of(r"^\s*\[detection\]")
    if not isinstance(raw, dict):
        raise loc.error(line, "detection", "must be a table")
    _check_keys(loc, raw, "detection", "detection", line)
    min_evidence = raw.get("min_evidence", DEFAULT_MIN_EVIDENCE)
    min_change = raw.get("min_score_change", DEFAULT_MIN_SCORE_CHANGE)
    _check_thresholds(loc, line, "detection", min_evidence, min_change)
    possible = raw.get("possible_min_confidence", DEFAULT_POSSIBLE_MIN_CONFIDENCE)
    number = isinstance(possible, int | float) and not isinstance(possible, bool)
    if not number or not 0.6 <= possible <= 1:
        raise loc.error(
            line, "detection", "'possible_min_confidence' must be a number between 0.6 and 1"
        )
    return DetectionSettings(int(min_evidence), float(min_change), float(possible))
