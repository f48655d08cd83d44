"""Orchestration of the perfpredict pipeline: each asset is a thin call into ``predictive_performance``."""
