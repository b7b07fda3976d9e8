from pathlib import Path

import pytest

from stancetrack.errors import WatchlistError
from stancetrack.watchlist import load_watchlist, track_fingerprint
from tests.conftest import WATCHLIST, write

GOOD = """
[actors.south-korea]
name = "South Korea"
aliases = ["South Korea", "Seoul"]
[[actors.south-korea.spokespeople]]
alias = "Yoon Suk Yeol"
from = 2022-05-10
to = 2025-04-04

[policies.lethal-aid]
proposition = "send lethal weapons to Ukraine"
keywords = ["weapons"]

[[tracks]]
actor = "south-korea"
policy = "lethal-aid"
"""


def test_fixture_watchlist_loads() -> None:
    watchlist = load_watchlist(WATCHLIST)
    assert set(watchlist.actors) == {"south-korea", "germany", "poland", "turkey", "hungary"}
    assert len(watchlist.tracks) == 5
    yoon = watchlist.actors["south-korea"].spokespeople[0]
    assert yoon.alias == "Yoon Suk Yeol" and "President Yoon" in yoon.also


def test_unknown_actor_in_track_names_file_line_and_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.toml", GOOD.replace('actor = "south-korea"', 'actor = "north-korea"')
    )
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value) == (
        f"{path}:15: tracks[1]: unknown actor 'north-korea' (known: south-korea)"
    )


def test_bad_date_is_a_toml_error_with_position(tmp_path: Path) -> None:
    path = write(tmp_path / "w.toml", GOOD.replace("from = 2022-05-10", "from = 2022-13-10"))
    with pytest.raises(WatchlistError, match=rf"^{path}: invalid TOML: .*line 7"):
        load_watchlist(path)


def test_bad_date_string(tmp_path: Path) -> None:
    path = write(tmp_path / "w.toml", GOOD.replace("from = 2022-05-10", 'from = "May 2022"'))
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value) == (
        f"{path}:5: actors.south-korea.spokespeople[1]: 'from' is not a date (YYYY-MM-DD): "
        "'May 2022'"
    )


def test_duplicate_alias_across_actors(tmp_path: Path) -> None:
    text = GOOD + '\n[actors.seoul-city]\nname = "Seoul city"\naliases = ["Seoul"]\n'
    path = write(tmp_path / "w.toml", text)
    with pytest.raises(
        WatchlistError, match="alias 'Seoul' is already an alias of actors.south-korea"
    ):
        load_watchlist(path)


def test_missing_file_and_missing_keywords(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="watchlist not found: nope.toml"):
        load_watchlist("nope.toml")
    path = write(tmp_path / "w.toml", GOOD.replace('keywords = ["weapons"]', "keywords = []"))
    with pytest.raises(
        WatchlistError, match=r":10: policies.lethal-aid: 'keywords' needs at least"
    ):
        load_watchlist(path)


def test_fingerprint_changes_only_with_matching_inputs(tmp_path: Path) -> None:
    first = load_watchlist(write(tmp_path / "a.toml", GOOD))
    renamed = load_watchlist(
        write(tmp_path / "b.toml", GOOD.replace('"Seoul"]', '"Seoul", "ROK"]'))
    )
    actor, policy = first.actors["south-korea"], first.policies["lethal-aid"]
    assert track_fingerprint(actor, policy) != track_fingerprint(
        renamed.actors["south-korea"], renamed.policies["lethal-aid"]
    )
    assert first.policies["lethal-aid"].fingerprint == renamed.policies["lethal-aid"].fingerprint


@pytest.mark.parametrize(
    ("before", "after", "line", "message"),
    [
        (
            'aliases = ["South Korea", "Seoul"]',
            'alias = ["South Korea", "Seoul"]',
            4,
            "actors.south-korea: unknown key 'alias' (did you mean 'aliases'?)",
        ),
        (
            'keywords = ["weapons"]',
            'keywords = ["weapons"]\nkeywrods = ["arms"]',
            13,
            "policies.lethal-aid: unknown key 'keywrods' (did you mean 'keywords'?)",
        ),
        (
            'policy = "lethal-aid"',
            'policy = "lethal-aid"\nmin_evidnce = 3',
            17,
            "tracks[1]: unknown key 'min_evidnce' (did you mean 'min_evidence'?)",
        ),
        (
            "to = 2025-04-04",
            "to = 2025-04-04\nrole = 'president'",
            9,
            "actors.south-korea.spokespeople[1]: unknown key 'role' "
            "(known: alias, also, titles, from, to)",
        ),
        (
            "from = 2022-05-10",
            "from = 2022-05-10T09:00:00",
            5,
            "actors.south-korea.spokespeople[1]: 'from' must be a date (YYYY-MM-DD), not a "
            "timestamp: 2022-05-10 09:00:00",
        ),
        (
            'aliases = ["South Korea", "Seoul"]',
            'aliases = ["South Korea", "Seoul", "K"]',
            2,
            "actors.south-korea: alias 'K' is shorter than 2 letters: it would match that "
            "letter in every article",
        ),
    ],
    ids=["alias-typo", "keywords-typo", "track-typo", "unknown-key", "timestamp", "one-letter"],
)
def test_typos_timestamps_and_one_letter_aliases_are_refused(
    tmp_path: Path, before: str, after: str, line: int, message: str
) -> None:
    assert before in GOOD
    path = write(tmp_path / "w.toml", GOOD.replace(before, after))
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value) == f"{path}:{line}: {message}"


def test_unknown_top_level_table_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "w.toml", GOOD + "\n[detections]\nmin_evidence = 3\n")
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value) == (
        f"{path}:18: the watchlist: unknown key 'detections' (did you mean 'detection'?)"
    )


def test_possible_shift_confidence_is_read_and_checked(tmp_path: Path) -> None:
    default = load_watchlist(write(tmp_path / "a.toml", GOOD))
    assert default.detection.possible_min_confidence == 0.8
    path = write(tmp_path / "b.toml", GOOD + "\n[detection]\npossible_min_confidence = 0.9\n")
    assert load_watchlist(path).detection.possible_min_confidence == 0.9
    for bad in ("0.5", '"high"', "true"):
        path = write(
            tmp_path / "c.toml", GOOD + f"\n[detection]\npossible_min_confidence = {bad}\n"
        )
        with pytest.raises(WatchlistError) as caught:
            load_watchlist(path)
        assert str(caught.value) == (
            f"{path}:18: detection: 'possible_min_confidence' must be a number between 0.6 and 1"
        )
