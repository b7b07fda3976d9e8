"""The starter watchlist `stancetrack init` writes: one tracked pair to edit."""

STARTER_WATCHLIST = """\
# stancetrack watchlist: who to follow, on what, and which pairs to track.
# Aliases match whole words; capitalised aliases match case-sensitively.

[detection]
min_evidence = 2        # independent stories needed on each side of a shift
min_score_change = 0.3  # smallest change of mean score (support - oppose) that counts

[actors.south-korea]
name = "South Korea"
aliases = ["South Korea", "Seoul", "South Korean government"]
demonyms = ["South Korean"]   # counts before an official noun: "South Korean officials"
[[actors.south-korea.spokespeople]]
alias = "Yoon Suk Yeol"
also = ["President Yoon", "Yoon"]
from = 2022-05-10
to = 2025-04-04

[policies.lethal-aid-ukraine]
name = "Lethal aid to Ukraine"
# The change being debated, read after "South Korea:"; not the status quo ("keep ... out").
proposition = "send lethal weapons or ammunition to Ukraine"
keywords = ["lethal", "weapons", "arms", "artillery", "ammunition", "shells", "air defense"]

[[tracks]]
actor = "south-korea"
policy = "lethal-aid-ukraine"
"""
