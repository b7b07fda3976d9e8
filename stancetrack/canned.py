"""Canned queries: the three questions analysts ask, for SQL tools that open the database.

`datasette_metadata` returns a Datasette metadata document (`stancetrack db datasette >
metadata.json; datasette stancetrack.db --metadata metadata.json`) whose canned queries answer
them from the documented views; the same SQL works in `sqlite3` or any client.
"""

from __future__ import annotations

from typing import Any

QUERIES: dict[str, dict[str, str]] = {
    "latest_stance": {
        "title": "Latest stance per track",
        "description": "The most recent article stance on every tracked actor x policy pair.",
        "sql": (
            "SELECT actor_name, policy_name, label, round(score, 2) AS score, "
            "round(confidence, 2) AS confidence, published_at, source, title, url, key_sentence "
            "FROM v_latest_stance ORDER BY actor_name, policy_name"
        ),
    },
    "track_timeline": {
        "title": "One track's timeline",
        "description": "Every article stance of one actor on one policy, oldest first "
        "(actor and policy are the watchlist ids, e.g. south-korea, lethal-aid-ukraine).",
        "sql": (
            "SELECT published_at, label, round(score, 2) AS score, "
            "round(confidence, 2) AS confidence, no_stance, source, title, url, key_sentence "
            "FROM v_stance_timeline WHERE actor = :actor AND policy = :policy "
            "ORDER BY published_at, article_id"
        ),
    },
    "shifts_with_evidence": {
        "title": "Shifts with their evidence",
        "description": "Every shift not retracted, with the last evidence before and the first "
        "after, their dates, outlets and links; possible shifts have status 'possible'.",
        "sql": (
            "SELECT actor_name, policy_name, from_label, to_label, shift_date, status, "
            "round(strength, 2) AS strength, evidence_before, evidence_before_date, "
            "evidence_before_source, evidence_before_url, evidence_after, evidence_after_date, "
            "evidence_after_source, evidence_after_url FROM v_shifts "
            "WHERE status NOT IN ('retracted', 'contradicted', 'expired', 'withdrawn') "
            "ORDER BY shift_date"
        ),
    },
}


def datasette_metadata(database: str) -> dict[str, Any]:
    """Metadata for Datasette with the canned queries on database `database` (the file stem)."""
    return {
        "title": "stancetrack",
        "description": "Stances of political actors on policies, as reported in the news "
        "(tables and views: see the stancetrack README, 'The database').",
        "databases": {database: {"queries": QUERIES}},
    }
