"""EmoStage benchmarks: `python -m bench` (see bench/results.md)."""
