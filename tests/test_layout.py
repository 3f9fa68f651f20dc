"""The package's imports flow one way, scripts -> cli -> library -> models ->
utils, with no cycles, and no folder inside the package is named tools."""
import ast
import os
import os.path as osp

from helpers import repo_path

PACKAGE = repo_path('mmhirivit')
# Each top-level part of the package and its layer (lower imports nothing
# higher).
LAYERS = {'utils': 0, 'registry': 0, 'version': 0, 'models': 1, 'engine': 2,
          'analysis': 2, 'converters': 2, 'deploy': 2, 'datasets': 2,
          'cli': 3}
LAYER_NAMES = ('utils', 'models', 'library', 'cli')


def _modules():
    """``{module name: file}`` of every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                rel = osp.relpath(path, osp.dirname(PACKAGE))[:-3]
                parts = rel.split(os.sep)
                if parts[-1] == '__init__':
                    parts = parts[:-1]
                found['.'.join(parts)] = path
    return found


def _imports(module, path, is_package):
    """The mmhirivit modules ``module`` imports."""
    with open(path) as f:
        tree = ast.parse(f.read())
    base = module.split('.') if is_package else module.split('.')[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[:len(base) - node.level + 1]
                target = '.'.join(parent + ([node.module]
                                            if node.module else []))
            else:
                target = node.module
            names.add(target)
            names.update(f'{target}.{a.name}' for a in node.names)
    return {n for n in names if n and n.split('.')[0] == 'mmhirivit'}


def _graph():
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        found = _imports(module, path, path.endswith('__init__.py'))
        graph[module] = {m for m in found if m in modules and m != module}
    return graph


def _layer(module):
    parts = module.split('.')
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_imports_flow_one_way():
    wrong = []
    for module, targets in _graph().items():
        layer = _layer(module)
        if layer is None:  # the package's own __init__ gathers the others
            continue
        for target in targets:
            if _layer(target) is not None and _layer(target) > layer:
                wrong.append(f'{module} ({LAYER_NAMES[layer]}) imports '
                             f'{target} ({LAYER_NAMES[_layer(target)]})')
    assert not wrong, '\n'.join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    # A package's __init__ imports its children: only cycles among the
    # modules themselves count.
    graph = {m: {t for t in targets if not m.startswith(t + '.')}
             for m, targets in graph.items()}
    state, cycles = {}, []

    def visit(module, path):
        state[module] = 'open'
        for target in graph.get(module, ()):
            if state.get(target) == 'open':
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 'done'

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_every_part_has_a_layer_and_none_is_named_tools():
    parts = {name for name in os.listdir(PACKAGE)
             if not name.startswith(('_', '.'))}
    parts = {p[:-3] if p.endswith('.py') else p for p in parts}
    assert parts <= set(LAYERS), parts - set(LAYERS)
    for folder, dirs, _ in os.walk(PACKAGE):
        assert 'tools' not in dirs, folder
