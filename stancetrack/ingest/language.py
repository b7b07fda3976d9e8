"""Which language an article is in, so non-English text stays away from the English model.

py3langid (a maintained fork of langid.py: naive Bayes over byte n-grams, 97 languages, its
model bundled in the wheel, numpy only) scores the opening of an article in one to two milliseconds.
Loading its model takes most of a second, so it loads on first use and only for articles that
are new (ingest checks duplicates first).

Short texts are where detectors guess: "NATO chief Jens Stoltenberg met Ulf Kristersson in
Ankara." scores Dutch. So a text is only called non-English on a confident score over enough
characters; otherwise the declared language (a page's `<html lang>`) or English stands.
"""

from __future__ import annotations

import re
from typing import Any

DEFAULT_LANGUAGE = "en"
MIN_CONFIDENCE = 0.9  # normalised probability of the top language
MIN_CHARS = 20  # below this a text is a headline fragment: too little to judge
# The opening decides as well as the whole article, and the identifier's time grows with the
# text: 2,000 characters (about 300 words) took 2.3 ms an article against 3.9 ms for the whole
# of 600-word articles, all 1,000 still English (2026-12-07: ingest 444 -> 619 articles/s).
MAX_CHARS = 2_000

# English function words: 30-45% of the words of English news prose (at least 0.296 over the
# 174 fixture articles), about 10% of Dutch ("in", "is"), 2% of German, none of French or
# Spanish. A text where they are frequent is English without asking the identifier, which was
# half of ingest's time (README, Benchmarks: 619 -> 995 articles/s).
ENGLISH_MARKERS = frozenset(
    "the and of to in that for on with was were is are said has have had by from at it his her"
    " their would will not but be".split()
)
ENGLISH_SHARE = 0.2
MIN_WORDS = 40  # the shortcut needs enough words to be sure
_WORD = re.compile(r"[^\W\d_]+")

_IDENTIFIER: Any = None


def _identifier() -> Any:
    global _IDENTIFIER
    if _IDENTIFIER is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def detect_language(text: str, hint: str | None = None) -> str:
    """The ISO 639-1 code of `text`'s language: detected, else `hint`, else "en"."""
    fallback = hint or DEFAULT_LANGUAGE
    sample = text[:MAX_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return fallback
    words = _WORD.findall(sample.lower())
    if len(words) >= MIN_WORDS and sum(w in ENGLISH_MARKERS for w in words) >= ENGLISH_SHARE * len(
        words
    ):
        return "en"
    language, confidence = _identifier().classify(sample)
    return str(language) if confidence >= MIN_CONFIDENCE else fallback
