"""stancetrack: track how political actors' stances on policies shift over time in the news.

The library is usable without the CLI::

    from stancetrack import store, pipeline
    engine = store.open_engine("stancetrack.db")
"""

__version__ = "0.1.0"
