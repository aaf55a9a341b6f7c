"""The package's import graph (``scripts/import_graph.py``, read from the source): no cycle at
import or at run time, no arrow running back up the layers."""

import subprocess
import sys

from support import QUICK, REPO



def _script():
    """``scripts/import_graph.py`` as a module."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import import_graph
    finally:
        sys.path.pop(0)
    return import_graph


def _edges(g, pkg):
    """Module -> the modules it imports, in the package at ``pkg``."""
    files = sorted(pkg.rglob("*.py"))
    known = {g.module_name(f) for f in files}
    return {g.module_name(f): {t for t, _ in g.imports(f, known)} for f in files}

def test_no_import_cycle_and_no_arrow_back_up_the_layers():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "import_graph.py"), "--list"],
                          capture_output=True, text=True, timeout=QUICK)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert "import cycles at import time: 0" in lines
    assert "import cycles at run time (imports in functions too): 0" in lines
    assert "arrows running back up the layers: 0" in lines, proc.stdout


def test_the_graph_script_finds_a_cycle_and_a_back_arrow(tmp_path, monkeypatch):
    """The check can fail: a made-up package with one."""
    g = _script()
    pkg = tmp_path / "tfcompress"
    (pkg / "recipe").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "registry.py").write_text("def f():\n    from tfcompress.recipe import x\n")
    (pkg / "recipe" / "__init__.py").write_text("from tfcompress.registry import f\nx = 1\n")
    monkeypatch.setattr(g, "ROOT", pkg)
    monkeypatch.setattr(sys, "argv", ["import_graph.py"])
    assert g.main() == 1
    assert g.cycles(_edges(g, pkg)) == [["tfcompress.recipe", "tfcompress.registry"]]
    assert g.layer("tfcompress.registry") < g.layer("tfcompress.recipe")


def test_from_a_package_import_a_sibling_passes_through_the_package(tmp_path, monkeypatch):
    """``from pkg import sibling`` runs ``pkg/__init__`` first: a module its ``__init__``
    imports closes a circle that way; ``import pkg.sibling as sibling`` does not."""
    g = _script()
    pkg = tmp_path / "tfcompress"
    (pkg / "report").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "report" / "__init__.py").write_text("from tfcompress.report import markdown\n")
    (pkg / "report" / "ship.py").write_text("X = 1\n")
    (pkg / "report" / "markdown.py").write_text("from tfcompress.report import ship\n")
    monkeypatch.setattr(g, "ROOT", pkg)

    assert g.cycles(_edges(g, pkg)) == [["tfcompress.report", "tfcompress.report.markdown"]]
    (pkg / "report" / "markdown.py").write_text("import tfcompress.report.ship as ship\n")
    assert g.cycles(_edges(g, pkg)) == []


def test_nothing_below_the_pipeline_imports_it():
    """Steps, stages, checks and the benchmark get a RunContext; only the package's entry and
    the API reach the Pipeline (``pipeline/core.py``)."""
    g = _script()
    files = sorted(g.ROOT.rglob("*.py"))
    known = {g.module_name(f) for f in files}
    users = {g.module_name(f) for f in files
             if any(t == "tfcompress.pipeline.core" for t, _ in g.imports(f, known))}
    assert users == {"tfcompress.pipeline"}, users  # its __init__ re-exports Pipeline


def test_every_stage_field_has_one_registered_stage_in_order():
    from tfcompress.pipeline.stages import STAGES, register
    from tfcompress.pipeline.stages.base import Stage
    from tfcompress.recipe.variant import STAGE_FIELDS, Variant

    assert STAGE_FIELDS == ("distill", "prune", "cluster", "qat")
    assert set(STAGES) == set(STAGE_FIELDS) and all(STAGES[k].kind == k for k in STAGES)

    class LowRank(Stage):
        kind = "low_rank"

    import pytest

    with pytest.raises(ValueError, match="no field in Variant"):
        register(LowRank())  # a stage needs its spec field first
    with pytest.raises(ValueError, match="registered twice"):
        register(STAGES["prune"])
    assert Variant("v").stages == ()
