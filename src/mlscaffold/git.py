"""The one way mlscaffold runs git: the template store, the history bundle and projects.

Standard library only: the wheel's build hook (``hatch_build.py``) imports
``template_history``, and with it this module, where mlscaffold's dependencies are not
installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

# Who commits in the template store and the history bundle: a machine without a git
# identity (a fresh CI runner) must still be able to record a template version.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlscaffold",
    "GIT_AUTHOR_EMAIL": "mlscaffold@localhost",
    "GIT_COMMITTER_NAME": "mlscaffold",
    "GIT_COMMITTER_EMAIL": "mlscaffold@localhost",
}


class GitError(RuntimeError):
    """A git command failed; the message names the command, the folder and git's reason."""


def git(repository: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``git ARGS`` in ``repository`` and return its output; raise ``GitError`` on failure.

    The environment is read when git runs, so the store redirect (``GIT_CONFIG_COUNT``...,
    see ``template_store.redirect_to_store``) reaches git inside that block; ``env`` adds
    variables on top (``GIT_IDENTITY`` where mlscaffold commits).
    """
    result = subprocess.run(
        ["git", *args], cwd=repository, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        reason = re.sub(r"\s+", " ", result.stderr).strip()
        raise GitError(f"git {' '.join(args)} failed in {repository}: {reason}")
    return result.stdout
