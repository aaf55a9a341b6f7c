"""Measurements of exported models: CPU latency/throughput with LiteRT, sizes, weights."""
