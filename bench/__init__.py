"""`make bench`: coordination cost measured against its floor, in the same run.

Each benchmark module exposes `run(cfg: Config) -> Section`; `python -m bench` runs them,
prints the table and writes `bench/results/latest.md` + `latest.json`. See docs/bench.md.
"""
