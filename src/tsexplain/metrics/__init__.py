"""Scores for explanations: against ground truth, and model-based faithfulness checks."""
