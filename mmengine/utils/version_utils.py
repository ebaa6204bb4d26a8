"""Version parsing and git revision lookup."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

_VERSION_RE = re.compile(
    r'^v?(?P<release>\d+(?:\.\d+)*)'
    r'(?:[-_.]?(?P<pre>a|alpha|b|beta|rc|c|pre|preview)[-_.]?(?P<pre_n>\d*))?'
    r'(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*)|-(?P<post_implicit>\d+))?'
    r'(?:[-_.]?(?P<dev>dev)[-_.]?\d*)?(?:\+[a-z0-9.]+)?$', re.IGNORECASE)
_PRE_RANK = {'a': -3, 'alpha': -3, 'b': -2, 'beta': -2, 'rc': -1, 'c': -1, 'pre': -1,
             'preview': -1}


def digit_version(version_str: str, length: int = 4) -> tuple[int, ...]:
    """Convert a PEP 440 version string into a tuple of ints that compares correctly.

    The release is padded to ``length`` numbers, followed by two more: pre-releases map to
    negative numbers (``a`` -3, ``b`` -2, ``rc`` -1, plain ``dev`` -4) so they sort before the
    release, a post-release to ``1, n``, and a final release to ``0, 0``.

    Args:
        version_str: Version such as ``'1.3.0rc1'``.
        length: Number of release components kept.

    Raises:
        ValueError: the string is not a valid version or has more than ``length`` components.

    Examples:
        >>> digit_version('1.3.0rc1') < digit_version('1.3.0') < digit_version('1.3.0.post1')
        True
        >>> digit_version('2.1')
        (2, 1, 0, 0, 0, 0)
    """
    match = _VERSION_RE.match(version_str.strip())
    if match is None:
        raise ValueError(f'failed to parse version {version_str!r}; expected a PEP 440 '
                         'version such as "1.2.3"')
    release = [int(x) for x in match['release'].split('.')]
    if len(release) > length:
        raise ValueError(f'version {version_str!r} has more than {length} release components; '
                         'pass a larger `length`')
    release += [0] * (length - len(release))
    post = match['post'] if match['post'] is not None else match['post_implicit']
    if match['pre']:
        release += [_PRE_RANK[match['pre'].lower()], int(match['pre_n'] or 0)]
    elif match['dev']:
        release += [-4, 0]
    elif post is not None:
        release += [1, int(post or 0)]
    else:
        release += [0, 0]
    return tuple(release)


def get_git_hash(fallback: str = 'unknown', digits: int | None = None) -> str:
    """Return the git hash of the current directory's HEAD, or ``fallback`` when unavailable.

    Args:
        fallback: Returned when git is absent or this is not a repository.
        digits: Keep only the first ``digits`` characters of the hash.
    """
    if digits is not None and not isinstance(digits, int):
        raise TypeError(f'digits must be None or an int, got {type(digits)}')
    if shutil.which('git') is None:
        return fallback
    env = {k: os.environ[k] for k in ('SYSTEMROOT', 'PATH', 'HOME') if k in os.environ}
    env.update(LANGUAGE='C', LANG='C', LC_ALL='C')
    try:
        out = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, env=env,
                             timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return fallback
    sha = out.strip().decode('ascii')
    return sha[:digits] if digits is not None else sha
