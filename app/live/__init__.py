"""The live pipeline and the backends it drives."""
