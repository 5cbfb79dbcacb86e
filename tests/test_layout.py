"""The layout shows the flow: imports inside `pipelines/` run one way, from ingest at the
bottom through marts, rules and quality to publish at the top. The root's shared pieces
(settings, db, retries, resources) import no step; definitions, orchestration and the
CLI at the root may import every step."""

import ast
from pathlib import Path

import pytest

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
LAYERS = ["ingest", "marts", "rules", "quality", "publish"]
SHARED = {"settings", "db", "retries", "resources", "catalog"}
WIRING = {"definitions", "orchestration", "cli"}
MODULES = sorted(p for p in PIPELINES.rglob("*.py") if p.name != "__init__.py")


def imported_pipelines_names(path: Path) -> set[str]:
    """The first name under `pipelines.` of every module `path` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("pipelines.")}


def test_the_steps_are_packages_and_the_root_holds_shared_pieces_and_wiring():
    packages = {p.name for p in PIPELINES.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS)
    assert {p.stem for p in PIPELINES.glob("*.py")} - {"__init__"} == SHARED | WIRING


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PIPELINES)))
def test_imports_run_one_way(path: Path):
    imported = imported_pipelines_names(path)
    if path.parent == PIPELINES:
        if path.stem in SHARED:
            assert not imported & (set(LAYERS) | WIRING), f"{path.name} imports a step"
        return
    layer = LAYERS.index(path.parent.name)
    higher = {name for name in imported & set(LAYERS) if LAYERS.index(name) > layer}
    assert not higher, f"{path.parent.name}/{path.name} imports the higher layer(s) {higher}"
    assert not imported & WIRING, f"{path.parent.name}/{path.name} imports the root's wiring"
