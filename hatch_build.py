"""Wheel build hook: carry the template of every earlier release (``history.bundle``).

See ``src/mlscaffold/template_history.py``: a teammate with a newer mlscaffold can update a
project made with an older one only if that older template comes along. The bundle is
built from this repository's release tags; a build without git history (an sdist) ships
none and says so.
"""

import sys
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

sys.path.insert(0, str(Path(__file__).parent / "src"))
from mlscaffold.template_history import BUNDLE_NAME, build_bundle


class TemplateHistoryHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install reads the checkout itself
        bundle = Path(tempfile.mkdtemp(prefix="mlscaffold-history-")) / BUNDLE_NAME
        tags = build_bundle(Path(self.root), bundle)
        if tags:
            build_data["force_include"][str(bundle)] = f"mlscaffold/_template/{BUNDLE_NAME}"
            self.app.display_info(f"template history: {', '.join(tags)}")
        else:
            self.app.display_warning("template history: no release tags here; the wheel carries none")
