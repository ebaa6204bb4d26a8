"""Every ```python block of docs/*.md and README.md runs (see _run_blocks.py for the rules).

All pages run in one subprocess (torch is imported once); each page is one test here.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.test_docs._run_blocks import extract

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGES = sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))) + [osp.join(REPO, 'README.md')]
IDS = [osp.relpath(p, REPO) for p in PAGES]


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    work = tmp_path_factory.mktemp('docs')
    out = work / 'report.json'
    proc = subprocess.run(
        [sys.executable, osp.join(osp.dirname(__file__), '_run_blocks.py'), str(out),
         str(work), *PAGES], capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(
            [REPO, osp.join(REPO, 'examples', 'rings')])))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize('page', PAGES, ids=IDS)
def test_page_blocks_run(report, page):
    failures = [f"{osp.relpath(page, REPO)}:{r['line']}\n{r['detail']}"
                for r in report[page] if r['status'] == 'failed']
    assert not failures, '\n\n'.join(failures)


def test_extract_markers():
    text = ('intro\n```python\na = 1\n```\n<!-- continue -->\n```python\nb = a\n```\n'
            '<!-- skip: needs torchvision -->\n```python\nimport torchvision\n```\n'
            '```bash\nls\n```\n')
    blocks = extract(text)
    assert [b['code'] for b in blocks] == ['a = 1\n', 'b = a\n', 'import torchvision\n']
    assert [b['cont'] for b in blocks] == [False, True, False]
    assert [b['skip'] for b in blocks] == [None, None, 'needs torchvision']
    assert blocks[0]['line'] == 2


def test_docs_exist_and_are_linked():
    names = {osp.basename(p) for p in PAGES}
    for required in ('getting_started.md', 'runner.md', 'datasets.md', 'models.md',
                     'evaluation.md', 'optim_wrapper.md', 'param_scheduler.md', 'hooks.md',
                     'config.md', 'registry.md', 'checkpoints.md', 'cli.md',
                     'coming_from_mmengine.md'):
        assert required in names
    readme = open(osp.join(REPO, 'README.md')).read()
    index = open(osp.join(REPO, 'docs', 'README.md')).read()
    assert 'docs/README.md' in readme
    for name in names - {'README.md'}:
        assert f']({name})' in index, f'docs/README.md does not link {name}'
