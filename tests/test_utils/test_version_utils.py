from __future__ import annotations

import subprocess

import pytest

from mmengine.utils import digit_version, get_git_hash


def test_digit_version_order():
    order = ['1.0.0.dev0', '1.0.0a1', '1.0.0b2', '1.0.0rc1', '1.0.0', '1.0.0.post1', '1.0.1']
    values = [digit_version(v) for v in order]
    assert values == sorted(values)
    assert digit_version('1.2') == (1, 2, 0, 0, 0, 0)
    assert digit_version('2.1.0+cu121') == digit_version('2.1.0')
    assert digit_version('1.2.3.4.5', length=6)[:5] == (1, 2, 3, 4, 5)


def test_digit_version_rejects():
    with pytest.raises(ValueError, match='parse'):
        digit_version('not-a-version')
    with pytest.raises(ValueError, match='length'):
        digit_version('1.2.3.4.5')


def test_get_git_hash(tmp_path, monkeypatch):
    assert get_git_hash(fallback='none') == 'none'  # tmp_path is no repository
    subprocess.run(['git', 'init', '-q'], check=True)
    subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q',
                    '--allow-empty', '-m', 'x'], check=True)
    sha = get_git_hash()
    assert len(sha) == 40 and int(sha, 16) >= 0
    assert get_git_hash(digits=7) == sha[:7]
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert get_git_hash(fallback='absent') == 'absent'
