"""The evaluation harness behind `emostage eval`: prepare, generate, judge, report."""
