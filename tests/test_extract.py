from datetime import date

from stancetrack.extract import (
    ActorMatcher,
    PolicyMatcher,
    extract_candidates,
    keyword_forms,
    split_sentences,
)
from stancetrack.watchlist import load_watchlist
from tests.conftest import WATCHLIST

WATCH = load_watchlist(WATCHLIST)
KOREA = ActorMatcher(WATCH.actors["south-korea"])
GERMANY = ActorMatcher(WATCH.actors["germany"])
LETHAL = PolicyMatcher(WATCH.policies["lethal-aid-ukraine"])


def test_sentences_survive_abbreviations_quotes_and_datelines() -> None:
    text = (
        'SEOUL, Nov. 7 (Wire) - Mr. Yoon said the U.S. had been told. "We will not send '
        'weapons," an official said. Talks resume Jan. 25.\n\nA new paragraph starts here.'
    )
    sentences = [s.text for s in split_sentences(text)]
    assert sentences == [
        "SEOUL, Nov. 7 (Wire) - Mr. Yoon said the U.S. had been told.",
        '"We will not send weapons," an official said.',
        "Talks resume Jan. 25.",
        "A new paragraph starts here.",
    ]
    for sentence in split_sentences(text):
        assert text[sentence.start : sentence.end] == sentence.text


def test_alias_word_boundaries_possessives_and_case() -> None:
    day = date(2024, 11, 7)
    assert KOREA.find("Seoul's stance on arms is unchanged.", day) == "Seoul"
    assert KOREA.find("The Seoulites rallied.", day) is None
    assert GERMANY.find("berlin is a city", day) is None  # proper nouns match case-sensitively
    assert GERMANY.find("German officials said no.", day) == "German officials"
    assert GERMANY.find("German-made Leopard tanks arrived.", day) is None
    assert GERMANY.find("German tanks arrived.", day) is None


def test_spokesperson_counts_only_inside_their_dates() -> None:
    assert KOREA.find("President Yoon said weapons were possible.", date(2024, 11, 7))
    assert KOREA.find("President Yoon said weapons were possible.", date(2021, 1, 1)) is None
    assert KOREA.find("Yoon Suk Yeol spoke.", date(2025, 4, 5)) is None


def test_candidates_need_actor_and_keyword_and_carry_context_and_offsets() -> None:
    text = (
        "Kyiv asked again. Seoul has long resisted calls to send artillery shells. "
        "Seoul also hosted a trade fair. Germany sent weapons."
    )
    found = extract_candidates(text, date(2023, 1, 1), [(KOREA, LETHAL)])
    assert len(found) == 1
    candidate = found[0]
    assert candidate.sentence == "Seoul has long resisted calls to send artillery shells."
    assert text[candidate.char_start : candidate.char_end] == candidate.sentence
    assert candidate.context_before == "Kyiv asked again."
    assert candidate.context_after == "Seoul also hosted a trade fair."
    assert candidate.matched_alias == "Seoul"


def test_keyword_plurals_match() -> None:
    assert PolicyMatcher(WATCH.policies["leopard-tanks-ukraine"]).matches("Two Leopards left.")
    assert not LETHAL.matches("The armistice holds.")
    assert LETHAL.matches("Seoul sends only non-lethal aid.")


def test_keyword_verb_forms_match() -> None:
    nato = PolicyMatcher(WATCH.policies["sweden-nato"])
    assert nato.matches("The Turkish parliament ratified the bid in January.")
    assert nato.matches("Budapest is ratifying it this week.")
    assert not nato.matches("The Turkish parliament met in January.")
    assert {"bans", "banned", "banning"} <= set(keyword_forms("ban"))
    assert "air defences" in keyword_forms("air defence")
