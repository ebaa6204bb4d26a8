"""Run the ```python blocks of Markdown pages in one interpreter and report per block.

Usage: python _run_blocks.py OUT_JSON WORK_DIR PAGE.md...

Rules for page authors:

* each block runs in a fresh namespace, in a fresh empty working directory;
* ``<!-- continue -->`` on the line before a block runs it in the previous block's namespace
  and directory (for step-by-step tutorials);
* ``<!-- skip: REASON -->`` on the line before a block skips it (e.g. needs torchvision or a
  dataset); the reason is reported.

Between blocks the global instances (logger, message hub, visualizer) are reset, and after
each block the registries are restored, so pages may register the same names.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import time
import traceback

FENCE = re.compile(r'^```python[^\n]*\n(.*?)^```', re.S | re.M)
MARKER = re.compile(r'<!--\s*(skip|continue)\s*:?\s*(.*?)\s*-->\s*$')


def extract(text: str) -> list[dict]:
    """Blocks of a page: ``{'line', 'code', 'skip', 'continue'}``."""
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count('\n', 0, match.start()) + 1
        before = text[:match.start()].rstrip('\n').rsplit('\n', 1)[-1]
        marker = MARKER.search(before)
        blocks.append(dict(line=line, code=match.group(1),
                           skip=marker.group(2) or 'skipped' if marker and
                           marker.group(1) == 'skip' else None,
                           cont=bool(marker and marker.group(1) == 'continue')))
    return blocks


def _registries() -> list:
    from mmengine.registry import Registry, root
    found, pending = [], [v for v in vars(root).values() if isinstance(v, Registry)]
    while pending:
        registry = pending.pop()
        found.append(registry)
        pending.extend(registry.children.values())
    return found


def _reset_instances() -> None:
    from mmengine.utils.manager import ManagerMixin
    pending = [ManagerMixin]
    while pending:
        cls = pending.pop()
        cls._instance_dict.clear()
        pending.extend(cls.__subclasses__())


def run_page(path: str, work_dir: str) -> list[dict]:
    with open(path, encoding='utf-8') as file:
        blocks = extract(file.read())
    results, namespace, cwd = [], None, None
    for index, block in enumerate(blocks):
        result = dict(line=block['line'], status='ok', detail='')
        if block['skip']:
            result.update(status='skipped', detail=block['skip'])
            results.append(result)
            continue
        if not block['cont'] or namespace is None:
            namespace = {'__name__': '__main__'}
            cwd = os.path.join(work_dir, f'{os.path.basename(path)}-{index}')
            os.makedirs(cwd, exist_ok=True)
        snapshot = {reg: dict(reg.module_dict) for reg in _registries()}
        os.chdir(cwd)
        _reset_instances()
        out = io.StringIO()
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(block['code'], f'{path}:{block["line"]}', 'exec'), namespace)
        except BaseException:  # noqa: B036 - SystemExit from a block is a failure too
            result.update(status='failed', detail=traceback.format_exc() +
                          '\n--- output ---\n' + out.getvalue()[-3000:])
        result['seconds'] = round(time.perf_counter() - start, 2)
        result['output'] = out.getvalue()[-2000:]
        next_cont = index + 1 < len(blocks) and blocks[index + 1]['cont']
        if not next_cont:  # a continued block may use what this one registered
            for registry, saved in snapshot.items():
                registry.module_dict.clear()
                registry.module_dict.update(saved)
        results.append(result)
    return results


def main() -> None:
    out_json, work_dir, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
    import mmengine.runner  # noqa: F401  (import once, before timing the first block)
    report = {}
    absolute = {page: os.path.abspath(page) for page in pages}  # before any block chdirs
    out_json, work_dir = os.path.abspath(out_json), os.path.abspath(work_dir)
    for page in pages:
        report[page] = run_page(absolute[page], work_dir)
    with open(out_json, 'w') as file:
        json.dump(report, file, indent=1)


if __name__ == '__main__':
    main()
