"""Extract: the sentences where a tracked actor meets a tracked policy.

An actor is mentioned by an alias (word boundaries, possessives included), by a demonym
followed by an official noun ("German officials"), or by a spokesperson while they speak for
it. A policy is relevant when one of its keywords (or its plural) occurs in the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from stancetrack.watchlist import ActorSpec, PolicySpec

# Nouns that make a demonym speak for the state: "German officials", not "German tanks".
OFFICIAL_NOUNS = (
    "government",
    "officials?",
    "authorities",
    "chancellor",
    "president",
    "prime minister",
    "premier",
    "ministers?",
    "ministry",
    "foreign ministry",
    "defen[cs]e ministry",
    "cabinet",
    "leaders?",
    "leadership",
    "spokes(?:man|woman|person)",
    "diplomats?",
    "envoys?",
    "parliament",
    "lawmakers",
    "legislators",
    "administration",
    "delegation",
    "side",
    "foreign minister",
    "defen[cs]e minister",
    "presidency",
    "state",
    "military",
)
CONTEXT_CHARS = 400  # cap on each side's context sentence


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Candidate:
    """A candidate evidence sentence for one actor x policy pair."""

    actor: str
    policy: str
    sentence: str
    char_start: int
    char_end: int
    context_before: str
    context_after: str
    matched_alias: str


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with character offsets into `text`; paragraphs never share a sentence."""
    sentences: list[Sentence] = []
    for paragraph in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        block = paragraph.group(0)
        if not block.strip():
            continue
        for span in _segmenter().segment(block):
            raw = span.sent
            stripped = raw.strip()
            if not stripped:
                continue
            offset = paragraph.start() + span.start + (len(raw) - len(raw.lstrip()))
            sentences.append(Sentence(stripped, offset, offset + len(stripped)))
    return sentences


def _alias_pattern(alias: str) -> str:
    # Aliases with a capital are proper nouns: match them case-sensitively so "turkey"
    # (the bird) or "berlin wall" in lower case do not count; lower-case aliases ignore case.
    escaped = r"\s+".join(re.escape(part) for part in alias.split())
    if alias == alias.lower():
        return rf"(?i:{escaped})"
    return escaped


class ActorMatcher:
    """Finds mentions of one actor; spokespeople only count inside their dates."""

    def __init__(self, actor: ActorSpec) -> None:
        self.actor = actor
        names = sorted(actor.aliases, key=len, reverse=True)
        self._aliases = word_regex([_alias_pattern(n) for n in names])
        nouns = "|".join(sorted(OFFICIAL_NOUNS, key=len, reverse=True))
        self._demonyms = (
            re.compile(
                rf"(?<![\w-])(?:{'|'.join(re.escape(d) for d in actor.demonyms)})"
                rf"\s+(?:{nouns})(?![\w-])"
            )
            if actor.demonyms
            else None
        )
        self._people = [
            (
                person,
                word_regex(
                    [_alias_pattern(n) for n in sorted(person.names(), key=len, reverse=True)]
                ),
            )
            for person in actor.spokespeople
        ]

    def find(self, sentence: str, on: date) -> str | None:
        """The first alias that mentions the actor in `sentence` on day `on`, or None."""
        match = self._aliases.search(sentence)
        if match:
            return match.group(0)
        if self._demonyms:
            match = self._demonyms.search(sentence)
            if match:
                return match.group(0)
        for person, regex in self._people:
            if person.valid_on(on):
                match = regex.search(sentence)
                if match:
                    return match.group(0)
        return None


class PolicyMatcher:
    def __init__(self, policy: PolicySpec) -> None:
        self.policy = policy
        patterns = [
            _alias_pattern(form)
            for k in sorted(policy.keywords, key=len, reverse=True)
            for form in keyword_forms(k.lower())
        ]
        # Plain word boundaries here: "non-lethal aid" is about the lethal-aid policy.
        self._keywords = re.compile(rf"(?<!\w)(?:{'|'.join(patterns)})(?!\w)")

    def matches(self, sentence: str) -> bool:
        return self._keywords.search(sentence) is not None


def keyword_forms(keyword: str) -> list[str]:
    """The keyword with its last word inflected: plurals and the verb forms news uses.

    "ratify" also finds "ratifies", "ratified" and "ratifying"; "ban" finds "banned". Forms
    that are not English words cost nothing: they never occur.
    """
    head, _, last = keyword.rpartition(" ")
    forms = {last, last + "s", last + "es", last + "ed", last + "ing"}
    if last.endswith("e"):
        forms |= {last + "d", last[:-1] + "ing"}
    if len(last) > 2 and last.endswith("y") and last[-2] not in "aeiou":
        forms |= {last[:-1] + "ies", last[:-1] + "ied"}
    if re.fullmatch(r".*[^aeiou][aeiou][bdgklmnprt]", last):
        # One vowel before a final consonant doubles it: "ban" -> "banned", "veto" does not.
        forms |= {last + last[-1] + "ed", last + last[-1] + "ing"}
    prefix = head + " " if head else ""
    return [prefix + form for form in sorted(forms, key=lambda f: (-len(f), f))]


def word_regex(patterns: list[str]) -> re.Pattern[str]:
    """Whole-word matches of any pattern, the rule every actor mention follows."""
    # Hyphens count as part of a word: "German-made" is not a mention of a German official,
    # but possessives ("Seoul's") still match because the apostrophe ends the word.
    return re.compile(rf"(?<![\w-])(?:{'|'.join(patterns)})(?![\w-])")


def extract_candidates(
    text: str,
    published: date,
    pairs: list[tuple[ActorMatcher, PolicyMatcher]],
    sentences: list[Sentence] | None = None,
) -> list[Candidate]:
    """Candidate evidence for every actor x policy pair in one article."""
    if sentences is None:
        sentences = split_sentences(text)
    candidates: list[Candidate] = []
    for index, sentence in enumerate(sentences):
        for actor_matcher, policy_matcher in pairs:
            alias = actor_matcher.find(sentence.text, published)
            if alias is None or not policy_matcher.matches(sentence.text):
                continue
            before = sentences[index - 1].text[-CONTEXT_CHARS:] if index > 0 else ""
            after = sentences[index + 1].text[:CONTEXT_CHARS] if index + 1 < len(sentences) else ""
            candidates.append(
                Candidate(
                    actor=actor_matcher.actor.key,
                    policy=policy_matcher.policy.key,
                    sentence=sentence.text,
                    char_start=sentence.start,
                    char_end=sentence.end,
                    context_before=before,
                    context_after=after,
                    matched_alias=alias,
                )
            )
    return candidates
