"""Which language an article is in, so non-English text stays away from the English model.

py3langid (a maintained fork of langid.py: naive Bayes over byte n-grams, 97 languages, its
model bundled in the wheel, numpy only) scores a 600-word article in under a millisecond.
Loading its model takes most of a second, so it loads on first use and only for articles that
are new (ingest checks duplicates first).

Short texts are where detectors guess: "NATO chief Jens Stoltenberg met Ulf Kristersson in
Ankara." scores Dutch. So a text is only called non-English on a confident score over enough
characters; otherwise the declared language (a page's `<html lang>`) or English stands.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANGUAGE = "en"
MIN_CONFIDENCE = 0.9  # normalised probability of the top language
MIN_CHARS = 20  # below this a text is a headline fragment: too little to judge
MAX_CHARS = 20_000  # the opening of a long article decides as well as all of it, faster

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
    language, confidence = _identifier().classify(sample)
    return str(language) if confidence >= MIN_CONFIDENCE else fallback
