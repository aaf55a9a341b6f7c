"""Packages: ``tfcompress`` and its recipes, which live in the top-level ``experiments/`` folder
but install only as ``tfcompress.experiments`` (nothing named ``experiments`` lands in
site-packages, where it would shadow or be shadowed by a user's own). Metadata: setup.cfg."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["tfcompress", "tfcompress.*"]), "tfcompress.experiments"],
    package_dir={"tfcompress.experiments": "experiments"},
)
