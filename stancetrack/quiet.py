"""Keep transformers quiet: no progress bars or load warnings on an analyst's terminal."""

import os


def quiet_transformers() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # No hub lookups at run time: local files only unless the user asked for a hub id online.
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()
