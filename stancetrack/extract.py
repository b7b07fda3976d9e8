"""Extract: the sentences where a tracked actor meets a tracked policy.

How an actor is found in a sentence, in order of preference:
- an alias (word boundaries, possessives included; capitalised aliases are case-sensitive
  proper nouns), a demonym before an official noun ("German officials"), or a spokesperson's
  name while they speak for the actor;
- a title ("the finance minister", "the German chancellor", "the foreign ministry") from the
  watchlist's `titles`, once the article has named the actor (or that spokesperson) earlier;
- a pronoun ("He said", "she told reporters") in the sentence right after one that names a
  spokesperson (same paragraph, or the first sentence of the next), when no other person is
  named in between.
How a policy is found: one of its keywords (with plurals and verb forms), or, once a keyword
has appeared earlier in the article or in its headline, a definite reference such as "the
levy", "the deal", "the jets" (`ANAPHORS`). The headline is evidence too (paragraph 0).

Matching is spelling-tolerant both ways: text and aliases are folded to a common form
(diacritics, curly quotes, non-breaking spaces and dashes; `fold`), and aliases also match
their usual transliterations ("Schaeuble" = "Schäuble", "Zelenskyy" = "Zelensky").

Speed: one Aho-Corasick pass finds every mention, keyword and anaphor of every tracked pair in
the whole article; only paragraphs that can hold a candidate are split into sentences
(`Extractor.candidates(..., exhaustive=True)` splits everything, and must give the same
result; a test checks it).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from stancetrack.watchlist import (
    DEFAULT_POLICY_REACH,
    POLICY_REACH,
    ActorSpec,
    PolicySpec,
    Spokesperson,
)

# Bumped whenever the rules find different sentences: stored analyses made under other rules
# are redone once (pipeline.py puts it in each track's fingerprint).
EXTRACTION_VERSION = 2

# Nouns that make a demonym speak for the state: "German officials", not "German tanks".
OFFICIAL_NOUNS = (
    "government",
    "official",
    "officials",
    "authorities",
    "chancellor",
    "president",
    "presidency",
    "prime minister",
    "premier",
    "minister",
    "ministers",
    "ministry",
    "foreign ministry",
    "defence ministry",
    "defense ministry",
    "foreign minister",
    "defence minister",
    "defense minister",
    "finance minister",
    "finance ministry",
    "cabinet",
    "leader",
    "leaders",
    "leadership",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "diplomat",
    "diplomats",
    "envoy",
    "envoys",
    "parliament",
    "lawmakers",
    "legislators",
    "administration",
    "delegation",
    "negotiators",
    "side",
    "state",
    "military",
)
# Definite references to a policy the article has already named: "the levy", "the deal".
ANAPHORS = (
    "deal",
    "agreement",
    "accord",
    "pact",
    "treaty",
    "arrangement",
    "compromise",
    "memorandum",
    "protocol",
    "protocols",
    "initiative",
    "corridor",
    "plan",
    "proposal",
    "package",
    "programme",
    "program",
    "scheme",
    "mechanism",
    "bill",
    "law",
    "legislation",
    "regulation",
    "loan",
    "loans",
    "bailout",
    "rescue",
    "levy",
    "tax",
    "tariff",
    "tariffs",
    "charge",
    "duty",
    "duties",
    "ban",
    "embargo",
    "sanctions",
    "jets",
    "aircraft",
    "fighters",
    "planes",
    "warplanes",
    "missiles",
    "tanks",
    "weapons",
    "deliveries",
    "membership",
    "accession",
    "bid",
    "application",
    "terms",
    "proposals",
    "measures",
    "conditions",
    "offer",
    "reforms",
    "text",
    "framework",
    "fund",
    "decision",
    "donation",
    "transfers",
)
PRONOUNS = ("he", "she")
CONTEXT_CHARS = 400  # cap on each side's context sentence
_DETERMINER = re.compile(
    r"(?:^|[^\w])(?:the|this|that|these|those|its|their|his|her)\s+(?:[\w'-]+\s+){0,2}$"
)
_PERSON_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:van|von|de|der|da|del|bin|al|[A-Z][a-z]+))+")
# Capitalised words that make a capitalised sequence an institution, place or date, not a person.
_NOT_PERSON = frozenset(
    """Parliament Union Commission Council House Ministry Bank Fund Agency Office Court Party
    Assembly Summit Conference Forum Department Senate Congress Treaty Agreement Initiative
    Organisation Organization Nations States Kingdom Republic Sea Ocean Street Square Palace
    Building Centre Center University Institute Group Forces Army Navy Minister President
    Chancellor Secretary Prime Foreign Defence Defense Finance Economy Trade State Affairs
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December""".split()
)
_ROUGH_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“A-Z])")
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


# ---------------------------------------------------------------- folding and variants


def _fold_table() -> dict[int, str]:
    """One character for one: offsets in folded text are offsets in the original."""
    table: dict[int, str] = {}
    for code in range(0xA0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            table[code] = base
    specials = {
        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ß": "s",
        "æ": "a", "Æ": "A", "œ": "o", "Œ": "O", "ð": "d", "Ð": "D", "þ": "t", "Þ": "T",
    }  # fmt: skip
    for chars, replacement in (
        ("’‘‛′`´", "'"),
        ("“”„‟″«»", '"'),
        ("‐‑‒–—―−", "-"),
        ("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    ):
        specials.update(dict.fromkeys(chars, replacement))
    table.update({ord(k): v for k, v in specials.items()})
    return table


FOLD = _fold_table()


def fold(text: str) -> str:
    """Diacritics, curly quotes, dashes and odd spaces to their plain form, length kept."""
    return text if text.isascii() else text.translate(FOLD)


_SLAVIC_ENDING = re.compile(r"(?<=[sc]k)(?:yy|iy|yi|ii|ij|y|i)\b")


def spelling_variants(name: str) -> set[str]:
    """The folded name and the transliterations reporters use for it.

    German umlauts written out ("Schaeuble" for "Schäuble", which folds to "Schauble"),
    Slavic endings ("Zelenskyy", "Zelensky", "Zelenskiy"), a hyphen or a space between parts.
    """
    base = fold(name)
    variants = {base}
    written_out = name
    for umlaut, pair in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
        ("ß", "ss"),
    ):
        written_out = written_out.replace(umlaut, pair)
    variants.add(fold(written_out))
    if re.search(r"[aou]e", base):
        variants.add(re.sub(r"(?<=[^aeiouAEIOU\s])([aouAOU])e", r"\1", base))
    for variant in list(variants):
        if _SLAVIC_ENDING.search(variant):
            for ending in ("yy", "y", "iy", "yi", "ii", "i"):
                variants.add(_SLAVIC_ENDING.sub(ending, variant))
    for variant in list(variants):
        if "-" in variant:
            variants.add(variant.replace("-", " "))
    return {v for v in variants if v.strip()}


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


# ---------------------------------------------------------------- sentences


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from syntok.tokenizer import Tokenizer

    return Tokenizer()


def _segment_block(block: str, offset: int) -> list[Sentence]:
    """Sentences of one paragraph (syntok: abbreviations, initials, quotes, datelines)."""
    from syntok import segmenter

    sentences = []
    for tokens in segmenter.split(_tokenizer().tokenize(block)):
        start = tokens[0].offset
        end = tokens[-1].offset + len(tokens[-1].value)
        text = block[start:end].strip()
        if text:
            begin = offset + start + (len(block[start:end]) - len(block[start:end].lstrip()))
            sentences.append(Sentence(text, begin, begin + len(text)))
    return sentences


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blocks separated by blank lines."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text) if m.group(0).strip()]


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with character offsets into `text`; paragraphs never share a sentence."""
    return [s for start, end in paragraphs(text) for s in _segment_block(text[start:end], start)]


# ---------------------------------------------------------------- the lexicon


@dataclass(frozen=True)
class _Entry:
    """One surface form that refers to an actor (or a policy)."""

    owner: str  # actor or policy key
    kind: str  # alias / demonym / spokesperson / title / person_title / keyword / anaphor
    form: str | None  # the exact folded form for case-sensitive entries, else None
    person: int | None = None  # index of the spokesperson, for names and their titles
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)


@dataclass(frozen=True)
class Mention:
    """A match in the article: where, what it refers to, and how."""

    start: int
    end: int
    entry: _Entry

    @property
    def owner(self) -> str:
        return self.entry.owner

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def names_person(self) -> bool:
        return self.entry.kind in ("spokesperson", "person_title")


_KIND_RANK = {"alias": 0, "demonym": 1, "spokesperson": 2, "title": 3, "person_title": 4}


def _is_cased(pattern: str) -> bool:
    return pattern != pattern.lower()


class _Automaton:
    """Many patterns, one pass (pyahocorasick), whole words only."""

    def __init__(self, entries: Iterable[tuple[str, _Entry]], hyphen_is_word: bool) -> None:
        import ahocorasick

        forms: dict[str, list[_Entry]] = {}
        for pattern, entry in entries:
            key = " ".join(pattern.split()).lower()
            if key:
                forms.setdefault(key, []).append(entry)
        self._automaton: Any = ahocorasick.Automaton()
        for key, found in forms.items():
            self._automaton.add_word(key, (len(key), tuple(found)))
        self.empty = not forms
        if not self.empty:
            self._automaton.make_automaton()
        self._hyphen = hyphen_is_word

    def scan(self, folded: str, offset: int = 0) -> list[Mention]:
        if self.empty:
            return []
        lowered = folded.lower()
        if len(lowered) != len(folded):  # a rare character whose lower case is longer
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in folded)
        mentions = []
        for end, (length, entries) in self._automaton.iter(lowered):
            start = end - length + 1
            if not self._whole_word(folded, start, end + 1):
                continue
            for entry in entries:
                if entry.form is not None and folded[start : end + 1] != entry.form:
                    continue
                mentions.append(Mention(offset + start, offset + end + 1, entry))
        mentions.sort(key=lambda m: (m.start, -m.end))
        return mentions

    def _whole_word(self, text: str, start: int, end: int) -> bool:
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        if self._hyphen and (before == "-" or after == "-"):
            return False
        return not (before.isalnum() or before == "_" or after.isalnum() or after == "_")


def _actor_entries(actor: ActorSpec) -> list[tuple[str, _Entry]]:
    entries: list[tuple[str, _Entry]] = []

    def add(pattern: str, kind: str, **extra: Any) -> None:
        for variant in spelling_variants(pattern):
            form = variant if _is_cased(variant) else None
            entries.append((variant, _Entry(actor.key, kind, form, **extra)))

    for alias in actor.aliases:
        add(alias, "alias")
    for demonym in actor.demonyms:
        for noun in OFFICIAL_NOUNS:
            add(f"{demonym} {noun}", "demonym")
    for title in actor.titles:
        entries += _title_entries(title, actor, _Entry(actor.key, "title", None))
    for index, person in enumerate(actor.spokespeople):
        dates: dict[str, Any] = {
            "person": index,
            "valid_from": person.valid_from,
            "valid_to": person.valid_to,
        }
        for name in person.names():
            add(name, "spokesperson", **dates)
        for title in person.titles:
            entries += _title_entries(
                title, actor, _Entry(actor.key, "person_title", None, **dates)
            )
    return entries


def _title_entries(title: str, actor: ActorSpec, entry: _Entry) -> list[tuple[str, _Entry]]:
    """ "the finance minister", "the German finance minister"; a capitalised title (a proper
    name of an office: "White House", "Chancellery") also stands alone, case-sensitively."""
    folded = fold(title)
    forms = [f"the {folded}", *(f"the {fold(d)} {folded}" for d in actor.demonyms)]
    entries = [(form, entry) for form in forms]
    if _is_cased(folded):
        entries.append((folded, _Entry(**{**entry.__dict__, "form": folded})))
    return entries


_STOPWORDS = frozenset("the a an of to for and or in on with by from at its their".split())


def _policy_entries(policy: PolicySpec) -> list[tuple[str, _Entry]]:
    entries = []
    for keyword in policy.keywords:
        for form in keyword_forms(fold(keyword).lower()):
            entries.append((form, _Entry(policy.key, "keyword", None)))
    return entries


def keyword_parts(policy: PolicySpec) -> list[frozenset[str]]:
    """The content words of each multiword keyword ("grain corridor" -> {grain, corridor}).

    Reporters split a compound: "a corridor for Ukrainian grain", "grain and fertiliser
    exports". A sentence holding every word of one keyword (in any order and inflection)
    names the policy as surely as the compound does.
    """
    parts = []
    for keyword in policy.keywords:
        words = [w for w in re.split(r"[\s-]+", fold(keyword).lower()) if w not in _STOPWORDS]
        if len(words) > 1:
            parts.append(frozenset(words))
    return parts


def _part_entries(policy: PolicySpec) -> list[tuple[str, _Entry]]:
    entries = []
    for word in sorted({w for part in keyword_parts(policy) for w in part}):
        for form in keyword_forms(word):
            entries.append((form, _Entry(policy.key, word, None)))  # kind: the base word
    return entries


# ---------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """A candidate evidence sentence for one actor x policy pair."""

    actor: str
    policy: str
    sentence: str
    char_start: int  # offsets into the article text, or into its title for paragraph 0
    char_end: int
    context_before: str
    context_after: str
    matched_alias: str
    paragraph: int = 1  # 0 = the headline, 1 = the first paragraph of the text, ...
    actor_match: str = "alias"  # alias / demonym / spokesperson / title / pronoun
    policy_match: str = "keyword"  # keyword / anaphor

    @property
    def in_headline(self) -> bool:
        return self.paragraph == 0


@dataclass
class _Paragraph:
    number: int  # 0 = headline
    start: int
    end: int
    text: str  # the part (title or body) it belongs to
    sentences: list[Sentence] | None = None


@dataclass
class _Scan:
    """Everything one pass found in an article, by position."""

    actors: list[Mention] = field(default_factory=list)
    keywords: list[Mention] = field(default_factory=list)
    parts: list[Mention] = field(default_factory=list)
    anaphors: list[Mention] = field(default_factory=list)
    pronouns: list[Mention] = field(default_factory=list)


class _Buckets:
    """Each kind of mention sorted into the paragraph it falls in, once per article."""

    KINDS = ("actors", "keywords", "parts", "anaphors", "pronouns")

    def __init__(self, blocks: list[_Paragraph], scans: dict[str, _Scan]) -> None:
        self._by_block: dict[tuple[str, int], list[Mention]] = {}
        text_blocks = [b for b in blocks if b.number > 0]
        starts = [b.start for b in text_blocks]
        for kind in self.KINDS:
            for mention in getattr(scans["title"], kind):
                self._by_block.setdefault((kind, 0), []).append(mention)
            for mention in getattr(scans["text"], kind):
                index = bisect_right(starts, mention.start) - 1
                if index >= 0 and mention.end <= text_blocks[index].end:
                    key = (kind, text_blocks[index].number)
                    self._by_block.setdefault(key, []).append(mention)

    def within(self, kind: str, block: _Paragraph) -> list[Mention]:
        return self._by_block.get((kind, block.number), [])


class Extractor:
    """Finds candidate evidence for a set of actor x policy tracks in many articles.

    `policy_reach` says where the policy may be named for a sentence that names the actor:
    "sentence" (a keyword, or an anaphor once the policy was named), "paragraph" (also any
    sentence of a paragraph that names it, and of the paragraph after), or "article" (any
    sentence of an article whose headline or first paragraph names it).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[ActorSpec, PolicySpec]],
        policy_reach: str = DEFAULT_POLICY_REACH,
    ) -> None:
        if policy_reach not in POLICY_REACH:
            raise ValueError(f"policy_reach must be one of {', '.join(POLICY_REACH)}")
        self.policy_reach = policy_reach
        self.pairs = [(a.key, p.key) for a, p in pairs]
        actors = {a.key: a for a, _ in pairs}
        policies = {p.key: p for _, p in pairs}
        self._people: dict[str, tuple[Spokesperson, ...]] = {
            key: a.spokespeople for key, a in actors.items()
        }
        self._actors = _Automaton(
            (e for a in actors.values() for e in _actor_entries(a)), hyphen_is_word=True
        )
        self._keywords = _Automaton(
            (e for p in policies.values() for e in _policy_entries(p)), hyphen_is_word=False
        )
        self._parts = _Automaton(
            (e for p in policies.values() for e in _part_entries(p)), hyphen_is_word=False
        )
        self._part_sets = {key: keyword_parts(p) for key, p in policies.items()}
        self._anaphors = _Automaton(
            ((word, _Entry("", "anaphor", None)) for word in ANAPHORS), hyphen_is_word=True
        )
        self._pronouns = _Automaton(
            ((word, _Entry("", "pronoun", None)) for word in PRONOUNS), hyphen_is_word=True
        )

    # -- scanning

    def _scan(self, folded: str, actors: list[Mention]) -> _Scan:
        """The policy side of an article part whose actor mentions are already known."""
        return _Scan(
            actors=actors,
            keywords=self._keywords.scan(folded),
            parts=self._parts.scan(folded),
            pronouns=self._pronouns.scan(folded),
            anaphors=[
                m
                for m in self._anaphors.scan(folded)
                if _DETERMINER.search(folded[max(0, m.start - 40) : m.start].lower())
            ],
        )

    def candidates(
        self,
        text: str,
        published: date,
        title: str | None = None,
        pairs: Iterable[tuple[str, str]] | None = None,
        *,
        exhaustive: bool = False,
    ) -> list[Candidate]:
        """Candidate evidence in one article for `pairs` (default: every pair).

        `exhaustive` splits every paragraph into sentences instead of only those that can
        hold a candidate: slower, and by construction the same result.
        """
        headline = " ".join((title or "").split())
        folded = {"title": fold(headline), "text": fold(text)}
        dated = {
            name: [m for m in self._actors.scan(body) if m.entry.valid_on(published)]
            for name, body in folded.items()
        }
        # Every candidate needs a mention of its actor (a pronoun needs its spokesperson), so
        # an article that names none of the tracked actors costs one scan and nothing more.
        named = {m.owner for mentions in dated.values() for m in mentions}
        wanted = [pair for pair in (pairs if pairs is not None else self.pairs) if pair[0] in named]
        if not wanted:
            return []
        scans = {name: self._scan(body, dated[name]) for name, body in folded.items()}
        blocks = [_Paragraph(0, 0, len(headline), headline)] if headline.strip() else []
        blocks += [
            _Paragraph(i, start, end, text) for i, (start, end) in enumerate(paragraphs(text), 1)
        ]
        buckets = _Buckets(blocks, scans)
        found: list[Candidate] = []
        for actor, policy in wanted:
            found += self._pair_candidates(
                actor, policy, blocks, scans, buckets, exhaustive=exhaustive
            )
        found.sort(key=lambda c: (c.paragraph, c.char_start, self.pairs.index((c.actor, c.policy))))
        return found

    def _pair_candidates(
        self,
        actor: str,
        policy: str,
        blocks: list[_Paragraph],
        scans: dict[str, _Scan],
        buckets: _Buckets,
        *,
        exhaustive: bool,
    ) -> list[Candidate]:
        within = buckets.within

        # The article names the actor (or a spokesperson) before a title may stand for it;
        # the policy is named before "the deal" may stand for it. Positions: (paragraph, char).
        named_at = [
            (0 if name == "title" else 1, m.start, m.entry.person)
            for name in ("title", "text")
            for m in scans[name].actors
            if m.owner == actor and m.kind in ("alias", "demonym", "spokesperson")
        ]
        part_sets = self._part_sets.get(policy, [])

        def parts_in(mentions: list[Mention]) -> Mention | None:
            """The first word of a keyword whose words all occur among `mentions`."""
            words = {m.kind for m in mentions if m.owner == policy}
            if not any(group <= words for group in part_sets):
                return None
            return min((m for m in mentions if m.owner == policy), key=lambda m: m.start)

        keyword_at = [
            (0 if name == "title" else 1, m.start)
            for name in ("title", "text")
            for m in scans[name].keywords
            if m.owner == policy
        ]
        if not keyword_at and not part_sets:
            return []  # the article never names the policy: nothing can stand for it
        for block in blocks:  # split compounds count as naming the policy in their paragraph
            first = parts_in(within("parts", block)) if part_sets else None
            if first is not None:
                keyword_at.append((0 if block.number == 0 else 1, first.start))
        results: list[Candidate] = []
        previous_person: tuple[_Paragraph, Mention | None] | None = None
        named_policy: dict[int, bool] = {}
        for block in blocks:
            keywords_here = [m for m in within("keywords", block) if m.owner == policy]
            if not keywords_here and part_sets:
                loose = parts_in(within("parts", block))
                keywords_here = [loose] if loose is not None else []
            anaphors_here = within("anaphors", block)
            named_policy[block.number] = bool(keywords_here) or bool(anaphors_here and keyword_at)
        established = any(named_policy.get(n) for n in (0, 1, 2)) and bool(keyword_at)
        for block in blocks:
            mentions = [
                m
                for m in within("actors", block)
                if m.owner == actor or m.names_person or m.kind in ("title",)
            ]
            own = [m for m in mentions if m.owner == actor]
            keywords = [m for m in within("keywords", block) if m.owner == policy]
            parts = [m for m in within("parts", block) if m.owner == policy]
            loose = parts_in(parts) if part_sets else None
            anaphors = within("anaphors", block)
            pronouns = within("pronouns", block)
            level = 0 if block.number == 0 else 1
            context = bool(keyword_at)
            topical = self._topical(block.number, named_policy, established)
            person_before = previous_person is not None and previous_person[1] is not None
            could_carry = bool(pronouns) and (person_before or any(m.names_person for m in own))
            passes = (own or could_carry) and (
                keywords or loose or (anaphors and context) or topical
            )
            last_person = self._last_person(block, mentions, actor)
            if not passes and not exhaustive:
                previous_person = (block, last_person)
                continue
            sentences = self._sentences(block)
            for index, sentence in enumerate(sentences):
                s_mentions = [m for m in mentions if _inside(m, block, sentence)]
                s_own = [
                    m
                    for m in s_mentions
                    if m.owner == actor and self._gate_open(m, level, named_at)
                ]
                match = self._actor_match(s_own)
                if match is None:
                    carried = self._carry(
                        block,
                        sentence,
                        index,
                        sentences,
                        s_mentions,
                        pronouns,
                        previous_person,
                        actor,
                        mentions,
                    )
                    if carried is None:
                        continue
                    match = carried
                policy_match = None
                if loose is not None:
                    in_sentence = [m for m in parts if _inside(m, block, sentence)]
                    policy_match = "keyword" if parts_in(in_sentence) else None
                if policy_match is None:
                    policy_match = self._policy_match(sentence, keywords, anaphors, keyword_at)
                if policy_match is None and topical:
                    policy_match = self.policy_reach
                if policy_match is None:
                    continue
                kind, mention = match
                before, after = self._context(blocks, block, index)
                results.append(
                    Candidate(
                        actor=actor,
                        policy=policy,
                        sentence=sentence.text,
                        char_start=sentence.start,
                        char_end=sentence.end,
                        context_before=before[-CONTEXT_CHARS:],
                        context_after=after[:CONTEXT_CHARS],
                        matched_alias=block.text[mention[0] : mention[1]],
                        paragraph=block.number,
                        actor_match=kind,
                        policy_match=policy_match,
                    )
                )
            previous_person = (block, last_person)
        return results

    @staticmethod
    def _gate_open(
        mention: Mention, level: int, named_at: list[tuple[int, int, int | None]]
    ) -> bool:
        """A title counts once the actor (or, for a person's title, that person or the actor)
        was named earlier in the article; names count at once."""
        if mention.kind not in ("title", "person_title"):
            return True
        here = (level, mention.start)
        return any(
            (paragraph, start) < here
            and (mention.kind == "title" or person is None or person == mention.entry.person)
            for paragraph, start, person in named_at
        )

    @staticmethod
    def _actor_match(own: list[Mention]) -> tuple[str, tuple[int, int]] | None:
        if not own:
            return None
        best = min(own, key=lambda m: (_KIND_RANK.get(m.kind, 9), m.start))
        kind = "title" if best.kind == "person_title" else best.kind
        return kind, (best.start, best.end)

    def _last_person(
        self, block: _Paragraph, mentions: list[Mention], actor: str
    ) -> Mention | None:
        """The last person named in the block, if it is one of the actor's spokespeople."""
        people = [m for m in mentions if m.names_person]
        if not people:
            return None
        last = max(people, key=lambda m: m.start)
        if last.owner != actor:
            return None
        return None if _names_someone(block.text[last.end : block.end]) else last

    def _carry(
        self,
        block: _Paragraph,
        sentence: Sentence,
        index: int,
        sentences: list[Sentence],
        s_mentions: list[Mention],
        pronouns: list[Mention],
        previous_person: tuple[_Paragraph, Mention | None] | None,
        actor: str,
        mentions: list[Mention],
    ) -> tuple[str, tuple[int, int]] | None:
        """A pronoun standing for a spokesperson named in the sentence just before."""
        if block.number == 0:
            return None
        pronoun = next(
            (p for p in pronouns if sentence.start <= p.start and p.end <= sentence.end), None
        )
        if pronoun is None or any(m.names_person for m in s_mentions):
            return None
        if _names_someone(block.text[sentence.start : pronoun.start]):
            return None  # someone else is named before the pronoun: it is probably theirs
        if index > 0:
            previous = sentences[index - 1]
            people = [
                m
                for m in mentions
                if m.names_person and previous.start <= m.start and m.end <= previous.end
            ]
            if not people:
                return None
            last = max(people, key=lambda m: m.start)
            if last.owner != actor or _names_someone(block.text[last.end : previous.end]):
                return None
        else:
            if previous_person is None or previous_person[1] is None:
                return None
            prior_block, prior_last = previous_person
            if prior_block.number == 0 or prior_last is None or prior_last.owner != actor:
                return None
            prior_sentences = self._sentences(prior_block)
            if not prior_sentences or not (
                prior_sentences[-1].start <= prior_last.start <= prior_sentences[-1].end
            ):
                return None
        return "pronoun", (pronoun.start, pronoun.end)

    def _topical(self, number: int, named_policy: dict[int, bool], established: bool) -> bool:
        """Whether the policy reach lets a sentence of this paragraph count without naming it."""
        if self.policy_reach == "article":
            return established
        if self.policy_reach == "paragraph":
            return bool(named_policy.get(number) or (number > 1 and named_policy.get(number - 1)))
        return False

    @staticmethod
    def _policy_match(
        sentence: Sentence,
        keywords: list[Mention],
        anaphors: list[Mention],
        keyword_at: list[tuple[int, int]],
    ) -> str | None:
        """A keyword in the sentence, or an anaphor in an article that names the policy."""
        if any(sentence.start <= m.start and m.end <= sentence.end for m in keywords):
            return "keyword"
        if keyword_at and any(
            sentence.start <= m.start and m.end <= sentence.end for m in anaphors
        ):
            return "anaphor"
        return None

    def _sentences(self, block: _Paragraph) -> list[Sentence]:
        if block.sentences is None:
            if block.number == 0:
                block.sentences = [Sentence(block.text.strip(), 0, len(block.text.strip()))]
            else:
                block.sentences = _segment_block(block.text[block.start : block.end], block.start)
        return block.sentences

    def _context(self, blocks: list[_Paragraph], block: _Paragraph, index: int) -> tuple[str, str]:
        if block.number == 0:
            return "", ""
        sentences = self._sentences(block)
        before = sentences[index - 1].text if index > 0 else ""
        after = sentences[index + 1].text if index + 1 < len(sentences) else ""
        # Across a paragraph break the context is only shown, never classified: the
        # neighbouring paragraph's nearest sentence by a plain rule, without segmenting it.
        position = blocks.index(block)
        if not before and position > 0 and blocks[position - 1].number > 0:
            previous = blocks[position - 1]
            before = _ROUGH_BOUNDARY.split(previous.text[previous.start : previous.end])[-1]
        if not after and position + 1 < len(blocks):
            following = blocks[position + 1]
            after = _ROUGH_BOUNDARY.split(following.text[following.start : following.end])[0]
        return before.strip(), after.strip()


def _names_someone(text: str) -> bool:
    """Whether `text` names a person: two or more capitalised words, none an institution's."""
    for match in _PERSON_NAME.finditer(fold(text)):
        words = re.split(r"[ -]", match.group(0))
        if not any(word in _NOT_PERSON for word in words):
            return True
    return False


def _inside(mention: Mention, block: _Paragraph, sentence: Sentence) -> bool:
    return sentence.start <= mention.start and mention.end <= sentence.end


# ---------------------------------------------------------------- single-pair helpers


class ActorMatcher:
    """Finds mentions of one actor in a sentence (names and demonyms; no titles or pronouns)."""

    def __init__(self, actor: ActorSpec) -> None:
        self.actor = actor
        self._automaton = _Automaton(
            (e for e in _actor_entries(actor) if e[1].kind not in ("title", "person_title")),
            hyphen_is_word=True,
        )

    def find(self, sentence: str, on: date) -> str | None:
        """The first alias that mentions the actor in `sentence` on day `on`, or None."""
        mentions = [m for m in self._automaton.scan(fold(sentence)) if m.entry.valid_on(on)]
        if not mentions:
            return None
        best = min(mentions, key=lambda m: (_KIND_RANK.get(m.kind, 9), m.start))
        return sentence[best.start : best.end]


class PolicyMatcher:
    def __init__(self, policy: PolicySpec) -> None:
        self.policy = policy
        self._automaton = _Automaton(_policy_entries(policy), hyphen_is_word=False)

    def matches(self, sentence: str) -> bool:
        return bool(self._automaton.scan(fold(sentence)))


def extract_candidates(
    text: str,
    published: date,
    pairs: list[tuple[ActorMatcher, PolicyMatcher]],
    title: str | None = None,
    policy_reach: str = DEFAULT_POLICY_REACH,
) -> list[Candidate]:
    """Candidate evidence for every actor x policy pair in one article."""
    extractor = Extractor([(a.actor, p.policy) for a, p in pairs], policy_reach)
    return extractor.candidates(text, published, title)
