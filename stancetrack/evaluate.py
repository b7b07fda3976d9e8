"""Evaluate: accuracy, macro-F1, per-class scores and the confusion matrix on labelled data.

Two levels, told apart by the records' fields:
- sentence: {"actor", "proposition" (or "policy" from the watchlist), "text", "label",
  optional "mention": the words in the text that name the actor}
- article: {"url", "actor", "policy", "label"}, run through the real pipeline; an article
  where the pipeline found no evidence for the pair counts as predicted "neutral".
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stancetrack.classify import LABELS, Classifier, StancePair
from stancetrack.errors import EvaluationError
from stancetrack.models import Actor, Article, Policy, Stance
from stancetrack.watchlist import Watchlist


@dataclass(frozen=True)
class Scores:
    level: str
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    macro_f1_ci: tuple[float, float] = (0.0, 0.0)  # 95% bootstrap interval

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "macro_f1_ci": list(self.macro_f1_ci),
            "per_class": self.per_class,
            "confusion": self.confusion,
        }


BOOTSTRAP_RESAMPLES = 1000


def score(gold: Sequence[str], predicted: Sequence[str], level: str) -> Scores:
    """Standard multi-class scores over support / oppose / neutral, with a bootstrap interval."""
    pairs = list(zip(gold, predicted, strict=True))
    confusion = _confusion(Counter(pairs))
    per_class = _per_class(confusion)
    n = len(pairs)
    accuracy = sum(confusion[label][label] for label in LABELS) / n if n else 0.0
    macro = sum(per_class[label]["f1"] for label in LABELS) / len(LABELS)
    return Scores(
        level,
        n,
        round(accuracy, 4),
        round(macro, 4),
        per_class,
        confusion,
        macro_f1_interval(pairs),
    )


def macro_f1_interval(
    pairs: Sequence[tuple[str, str]], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of macro-F1 over (gold, predicted) pairs.

    At n=63 articles one article moves macro-F1 by about two points, so a figure without its
    interval invites reading noise as progress. Seeded, so the same data gives the same interval.
    """
    if not pairs:
        return (0.0, 0.0)
    rng = random.Random(seed)
    values = sorted(
        _macro_f1(_confusion(Counter(rng.choices(pairs, k=len(pairs))))) for _ in range(resamples)
    )
    return (
        round(values[int(0.025 * resamples)], 4),
        round(values[int(0.975 * resamples) - 1], 4),
    )


def _confusion(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    return {g: {p: counts[(g, p)] for p in LABELS} for g in LABELS}


def _per_class(confusion: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    per_class: dict[str, dict[str, float]] = {}
    for label in LABELS:
        tp = confusion[label][label]
        predicted_n = sum(confusion[g][label] for g in LABELS)
        gold_n = sum(confusion[label].values())
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / gold_n if gold_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": gold_n,
        }
    return per_class


def _macro_f1(confusion: dict[str, dict[str, int]]) -> float:
    return sum(v["f1"] for v in _per_class(confusion).values()) / len(LABELS)


def read_labelled(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path}: not UTF-8 text (at byte {exc.start})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationError(f"{path}:{number}: malformed JSON ({exc.msg})") from None
        if not isinstance(row, dict) or row.get("label") not in LABELS:
            raise EvaluationError(f"{path}:{number}: needs a 'label' of {', '.join(LABELS)}")
        row["_where"] = f"{path}:{number}"  # for errors that name the record
        rows.append(row)
    if not rows:
        raise EvaluationError(f"{path}: no labelled records")
    return rows


def level_of(rows: list[dict[str, Any]]) -> str:
    return "sentence" if "text" in rows[0] else "article"


def read_labelled_files(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The records of several labelled files, which must all be of one level."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        more = read_labelled(path)
        if rows and level_of(more) != level_of(rows):
            raise EvaluationError(
                f"{path}: {level_of(more)}-level records, but {paths[0]} holds "
                f"{level_of(rows)}-level ones; evaluate them separately"
            )
        rows += more
    return rows


def evaluate_sentences(
    rows: list[dict[str, Any]], classifier: Classifier, watchlist: Watchlist | None
) -> tuple[Scores, list[str]]:
    pairs = []
    for row in rows:
        proposition = row.get("proposition")
        actor = row.get("actor")
        if not proposition and watchlist is not None and row.get("policy") in watchlist.policies:
            proposition = watchlist.policies[row["policy"]].proposition
        if watchlist is not None and actor in watchlist.actors:
            actor = watchlist.actors[actor].name
        if not proposition or not actor or not row.get("text"):
            raise EvaluationError(
                f"{row['_where']}: a sentence record needs actor, text and a proposition "
                "(or a policy id from the watchlist)"
            )
        # Without a "mention" the actor's name is marked where the text uses it verbatim.
        pairs.append(StancePair(actor, proposition, row["text"], row.get("mention") or actor))
    predicted = [p.label for p in classifier.predict(pairs)]
    return score([r["label"] for r in rows], predicted, "sentence"), predicted


def evaluate_articles(
    session: Session, rows: list[dict[str, Any]], model_hash: str
) -> tuple[Scores, list[str]]:
    """Compare stored article stances (same model) with the gold labels."""
    predicted = []
    for row in rows:
        url = row.get("url") or row.get("article")
        article_id = session.scalar(select(Article.id).where(Article.url == url).limit(1))
        if article_id is None:
            raise EvaluationError(f"{row['_where']}: article not in the database: {url}")
        label = session.scalar(
            select(Stance.label)
            .join(Actor, Actor.id == Stance.actor_id)
            .join(Policy, Policy.id == Stance.policy_id)
            .where(
                Stance.article_id == article_id,
                Stance.model_hash == model_hash,
                Actor.key == row["actor"],
                Policy.key == row["policy"],
            )
        )
        predicted.append(label or "neutral")
    return score([r["label"] for r in rows], predicted, "article"), predicted


def render_scores(scores: Scores) -> str:
    lines = [
        f"{scores.level} level, n={scores.n}: accuracy {scores.accuracy:.3f}, "
        f"macro-F1 {scores.macro_f1:.3f} "
        f"(95% bootstrap interval {scores.macro_f1_ci[0]:.3f}-{scores.macro_f1_ci[1]:.3f})",
        "",
        f"{'class':<9} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}",
    ]
    for label, values in scores.per_class.items():
        lines.append(
            f"{label:<9} {values['precision']:>9.3f} {values['recall']:>7.3f} "
            f"{values['f1']:>6.3f} {values['support']:>5}"
        )
    lines += [
        "",
        "confusion (rows gold, columns predicted):",
        f"{'':<9} " + " ".join(f"{label:>8}" for label in LABELS),
    ]
    for gold in LABELS:
        lines.append(f"{gold:<9} " + " ".join(f"{scores.confusion[gold][p]:>8}" for p in LABELS))
    return "\n".join(lines) + "\n"


def evaluate_file(
    labelled: Sequence[str | Path], settings: Any, articles: Sequence[Path] | None = None
) -> Scores:
    """Evaluate the configured model on labelled files of one level (the `evaluate` command)."""
    import tempfile

    from stancetrack import store
    from stancetrack.classify import load_classifier
    from stancetrack.runs import Settings, analyze_job, ingest_job
    from stancetrack.watchlist import load_watchlist

    rows = read_labelled_files(labelled)
    if level_of(rows) == "sentence":
        watchlist = load_watchlist(settings.config) if Path(settings.config).exists() else None
        classifier = load_classifier(
            settings.model, device=settings.device, precision=settings.precision
        )
        return evaluate_sentences(rows, classifier, watchlist)[0]
    with tempfile.TemporaryDirectory() as folder:
        db = settings.db
        if articles:
            db = str(Path(folder) / "evaluate.db")
            engine = store.open_engine(db)
            job_settings = Settings(**{**settings.__dict__, "db": db})
            ingest_job(engine, list(articles), job_settings, command="evaluate:ingest")
        else:
            engine = store.open_engine(db)
            job_settings = settings
        analyze_job(engine, job_settings, command="evaluate:analyze")
        with store.session_scope(engine) as session:
            run = store.latest_model_run(session)  # the analysis just made, with its model hash
            model_hash = run.model_hash if run and run.model_hash else ""
            scores = evaluate_articles(session, rows, model_hash)[0]
        engine.dispose()
        return scores


# ---------------------------------------------------------------- extraction


@dataclass(frozen=True)
class ExtractionScores:
    """How completely and precisely extraction finds the gold evidence sentences.

    A gold sentence counts as found when a candidate for the same pair covers at least half of
    it (sentence splitters disagree at the edges); a candidate counts as correct when at least
    half of it is a gold sentence of that pair.
    """

    pairs: int  # gold article x track pairs with at least one evidence sentence
    pairs_covered: int  # ... of which at least one evidence sentence was extracted
    sentences: int
    sentences_found: int
    candidates: int
    candidates_correct: int
    by_pattern: dict[str, tuple[int, int]]  # pattern -> (gold sentences, found)
    by_match: dict[str, tuple[int, int]]  # how the candidate matched -> (candidates, correct)

    @property
    def pair_coverage(self) -> float:
        return self.pairs_covered / self.pairs if self.pairs else 0.0

    @property
    def recall(self) -> float:
        return self.sentences_found / self.sentences if self.sentences else 0.0

    @property
    def precision(self) -> float:
        return self.candidates_correct / self.candidates if self.candidates else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": "extraction",
            "pairs": self.pairs,
            "pair_coverage": round(self.pair_coverage, 4),
            "sentences": self.sentences,
            "sentence_recall": round(self.recall, 4),
            "candidates": self.candidates,
            "candidate_precision": round(self.precision, 4),
            "by_pattern": {k: {"gold": n, "found": f} for k, (n, f) in self.by_pattern.items()},
            "by_match": {k: {"candidates": n, "correct": c} for k, (n, c) in self.by_match.items()},
        }


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def extraction_scores(
    rows: list[dict[str, Any]],
    articles: Sequence[Path],
    watchlist: Watchlist,
    *,
    exhaustive: bool = False,
) -> ExtractionScores:
    """Run the extractor (no model, no database) over gold articles with evidence lists."""
    from stancetrack.extract import Extractor
    from stancetrack.ingest import ArticleRecord, iter_path_items

    records = {
        item.url: item
        for item in iter_path_items(articles)
        if isinstance(item, ArticleRecord) and item.url
    }
    pairs = [(watchlist.actors[t.actor], watchlist.policies[t.policy]) for t in watchlist.tracks]
    extractor = Extractor(pairs, watchlist.extraction.policy_reach)
    gold: dict[tuple[str, str, str], list[tuple[str, tuple[int, int], list[str]]]] = {}
    for row in rows:
        record = records.get(row["url"])
        if record is None:
            raise EvaluationError(f"{row['_where']}: no article with url {row['url']}")
        spans = gold.setdefault((row["url"], row["actor"], row["policy"]), [])
        for sentence in row.get("evidence") or []:
            spans.append((*_locate(record, sentence, row["_where"]), row.get("patterns") or []))
    found_by_pair: dict[tuple[str, str, str], list[tuple[str, tuple[int, int], str]]] = {}
    for url, record in records.items():
        for c in extractor.candidates(
            record.text, record.published_at, record.title, exhaustive=exhaustive
        ):
            part = "title" if c.in_headline else "text"
            found_by_pair.setdefault((url, c.actor, c.policy), []).append(
                (part, (c.char_start, c.char_end), f"{c.actor_match}+{c.policy_match}")
            )
    pairs_total = pairs_covered = sentences = sentences_found = 0
    by_pattern: dict[str, list[int]] = {}
    for key, spans in gold.items():
        if not spans:
            continue
        pairs_total += 1
        candidates = found_by_pair.get(key, [])
        hits = 0
        for part, span, patterns in spans:
            hit = any(
                c_part == part and _overlap(span, c_span) * 2 >= span[1] - span[0]
                for c_part, c_span, _ in candidates
            )
            hits += hit
            for pattern in patterns:
                counts = by_pattern.setdefault(pattern, [0, 0])
                counts[0] += 1
                counts[1] += hit
        sentences += len(spans)
        sentences_found += hits
        pairs_covered += hits > 0
    total = correct = 0
    by_match: dict[str, list[int]] = {}
    for key, candidates in found_by_pair.items():
        spans = gold.get(key, [])
        for c_part, c_span, how in candidates:
            right = any(
                part == c_part and _overlap(span, c_span) * 2 >= c_span[1] - c_span[0]
                for part, span, _ in spans
            )
            total += 1
            correct += right
            counts = by_match.setdefault(how, [0, 0])
            counts[0] += 1
            counts[1] += right
    return ExtractionScores(
        pairs_total,
        pairs_covered,
        sentences,
        sentences_found,
        total,
        correct,
        {k: (v[0], v[1]) for k, v in sorted(by_pattern.items())},
        {k: (v[0], v[1]) for k, v in sorted(by_match.items())},
    )


def _locate(record: Any, sentence: str, where: str) -> tuple[str, tuple[int, int]]:
    if record.title and " ".join(sentence.split()) == " ".join(record.title.split()):
        return "title", (0, len(" ".join(record.title.split())))
    start = record.text.find(sentence)
    if start < 0:
        raise EvaluationError(f"{where}: evidence sentence not in the article: {sentence[:60]!r}")
    return "text", (start, start + len(sentence))


def render_extraction(scores: ExtractionScores) -> str:
    lines = [
        f"extraction: {scores.pairs_covered}/{scores.pairs} gold pairs have evidence "
        f"extracted ({scores.pair_coverage:.1%}); sentence recall {scores.recall:.3f} "
        f"({scores.sentences_found}/{scores.sentences}); candidate precision "
        f"{scores.precision:.3f} ({scores.candidates_correct}/{scores.candidates})",
        "",
        "recall by pattern (gold sentences on lines with the pattern):",
    ]
    for pattern, (n, found) in scores.by_pattern.items():
        lines.append(f"  {pattern:<18} {found:>4}/{n:<4} {found / n if n else 0:.3f}")
    lines += ["", "precision by how the candidate matched (actor+policy):"]
    for how, (n, right) in scores.by_match.items():
        lines.append(f"  {how:<24} {right:>4}/{n:<4} {right / n if n else 0:.3f}")
    return "\n".join(lines) + "\n"


def extraction_file(
    labelled: Sequence[str | Path], config: str | Path, articles: Sequence[Path]
) -> ExtractionScores:
    """Score extraction alone (`evaluate --extraction`): gold article lines with `evidence`."""
    from stancetrack.watchlist import load_watchlist

    rows = read_labelled_files(labelled)
    if level_of(rows) != "article" or not any("evidence" in row for row in rows):
        raise EvaluationError(
            f"{labelled[0]}: --extraction needs article-level records with an 'evidence' list"
        )
    if not articles:
        raise EvaluationError("--extraction needs --articles: the folder the gold refers to")
    return extraction_scores(rows, list(articles), load_watchlist(config))
