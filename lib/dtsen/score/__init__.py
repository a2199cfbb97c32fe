"""Welfare scoring: features, models, evaluation, promotion gate, batch scoring, explanations."""
