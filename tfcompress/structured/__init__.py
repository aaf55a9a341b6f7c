"""Structured pruning: channel dependencies, criteria and physically smaller models."""
