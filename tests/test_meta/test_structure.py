"""The layer order and size caps of DESIGN.md, enforced on every module of the package."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'mmengine'

# DESIGN.md section 2: a module imports only from its own layer or lower ones.
LAYERS = {
    'utils': 1, 'version': 1,
    'fileio': 2, 'logging': 2,
    'config': 3,
    'registry': 4,
    'device': 5, 'dist': 5, 'structures': 5,
    'dataset': 6, 'model': 6, 'optim': 6, 'evaluator': 6, 'visualization': 6,
    'hooks': 7,
    '_strategy': 8,
    'runner': 9,
    'testing': 10, 'analysis': 10, 'hub': 10, 'infer': 10, '__main__': 10, '_cli': 10,
    '__init__': 10,
}

# (importing subpackage, imported subpackage) -> why the exception is needed.
LAYER_ALLOW: dict[tuple[str, str], str] = {}

MODULE_CAP, RUNNER_CAP, FUNCTION_CAP, NESTING_CAP = 800, 1000, 80, 4

# module path relative to the package -> why it may exceed the caps.
SIZE_ALLOW: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob('*.py'))


def _subpackage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix('.py')


def _walk_outside_functions(node: ast.AST):
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk_outside_functions(child)


def _imported_subpackages(path: Path) -> set[str]:
    """Subpackages of mmengine imported at module level (lazy imports in functions are free)."""
    tree = ast.parse(path.read_text())
    rel_parts = path.relative_to(PACKAGE).parts
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
            continue
        for sub in _walk_outside_functions(node):
            if isinstance(sub, ast.ImportFrom):
                if sub.level:
                    base = list(rel_parts[:-1])
                    up = sub.level - 1
                    if up > len(base):
                        continue
                    base = base[:len(base) - up] if up else base
                    target = base + (sub.module.split('.') if sub.module else [])
                    if not target and sub.names:
                        target = [sub.names[0].name]
                    if target:
                        found.add(target[0])
                elif sub.module and sub.module.startswith('mmengine.'):
                    found.add(sub.module.split('.')[1])
            elif isinstance(sub, ast.Import):
                for alias in sub.names:
                    if alias.name.startswith('mmengine.'):
                        found.add(alias.name.split('.')[1])
    return found



@pytest.mark.parametrize('path', _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layer_order(path: Path) -> None:
    own = _subpackage(path)
    own_layer = LAYERS.get(own)
    assert own_layer is not None, f'{own!r} has no layer in DESIGN.md; add it to LAYERS'
    for target in _imported_subpackages(path):
        if target not in LAYERS or (own, target) in LAYER_ALLOW:
            continue
        assert LAYERS[target] <= own_layer, (
            f'{path.relative_to(PACKAGE)} (layer {own_layer}) imports mmengine.{target} '
            f'(layer {LAYERS[target]}) at module level; import lazily or move the code')


def _max_nesting(node: ast.AST, depth: int = 0) -> int:
    compound = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith,
                ast.Match)
    deepest = depth
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        extra = 1 if isinstance(child, compound) else 0
        deepest = max(deepest, _max_nesting(child, depth + extra))
    return deepest


def _code_lines(func: ast.AST, source_lines: list[str]) -> int:
    body = func.body  # type: ignore[attr-defined]
    start = body[0].lineno
    if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], 'value', None),
                                                    ast.Constant):
        start = body[0].end_lineno + 1 if len(body) > 1 else body[0].end_lineno + 1
    lines = source_lines[start - 1:func.end_lineno]  # type: ignore[attr-defined]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith('#'))


@pytest.mark.parametrize('path', _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_size_caps(path: Path) -> None:
    rel = str(path.relative_to(PACKAGE))
    if rel in SIZE_ALLOW:
        return
    text = path.read_text()
    cap = RUNNER_CAP if rel == 'runner/runner.py' else MODULE_CAP
    assert len(text.splitlines()) <= cap, f'{rel} has {len(text.splitlines())} lines (cap {cap})'
    source_lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = _code_lines(node, source_lines)
            assert lines <= FUNCTION_CAP, (
                f'{rel}:{node.lineno} {node.name} has {lines} code lines (cap {FUNCTION_CAP})')
            depth = _max_nesting(node)
            assert depth <= NESTING_CAP, (
                f'{rel}:{node.lineno} {node.name} nests {depth} deep (cap {NESTING_CAP})')


def test_no_bare_type_ignore() -> None:
    offenders = []
    for path in _modules():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if '# type: ignore' in line and '# type: ignore[' not in line:
                offenders.append(f'{path.relative_to(PACKAGE)}:{number}')
    assert not offenders, f'type: ignore without an error code: {offenders}'
