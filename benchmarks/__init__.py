"""Benchmarks of ragflow_integrations against side-by-side baselines; see BENCHMARKS.md."""
