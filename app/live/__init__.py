"""The live pipeline: sources -> lanes (clock, waiting audio) -> one backend -> timed text."""
