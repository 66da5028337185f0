"""The shipped presets (``presets/*.yml``, ``mlscaffold new --preset NAME``): each renders, and
the answers it sets reach the project.

These are the fast checks. Each preset's full test tier runs in the slow variant tests, whose
fixtures render from the preset files (credit-risk: test_generated_project; edge-image-int8:
test_variant_image; hf-text-cloud: test_variant_huggingface), so no preset costs an extra
project run in CI.
"""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlscaffold import presets
from mlscaffold.answers import given_answers
from mlscaffold.cli import app

from .conftest import REPO_ROOT, preset_answers
from .test_render import render_ok

PACKAGE = REPO_ROOT / "presets"
SHIPPED = ["credit-risk", "edge-image-int8", "hf-text-cloud", "team-example"]
# The preset each slow variant fixture renders from (see the module docstring).
FIXTURE_PRESETS = {
    "credit-risk": REPO_ROOT / "tests/test_generated_project.py",
    "edge-image-int8": REPO_ROOT / "tests/test_variant_image.py",
    "hf-text-cloud": REPO_ROOT / "tests/test_variant_huggingface.py",
}

runner = CliRunner()


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_the_shipped_presets_are_the_files_in_presets() -> None:
    assert presets.preset_names() == SHIPPED
    assert presets.preset_path("credit-risk") == PACKAGE / "credit-risk.yml"


def test_the_wheel_carries_the_presets_where_the_module_looks() -> None:
    """pyproject.toml's force-include puts presets/ at mlscaffold/_presets, PACKAGED_PRESETS' path."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    force_include = pyproject.split("[tool.hatch.build.targets.wheel.force-include]")[1].split("\n[")[0]
    assert '\n"presets" = "mlscaffold/_presets"\n' in force_include
    assert presets.PACKAGED_PRESETS == REPO_ROOT / "src" / "mlscaffold" / "_presets"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_preset_passes_the_answers_file_checks(name: str) -> None:
    """Known keys and well-typed answers, checked as --answers-file checks them."""
    given, preset = given_answers([], presets.preset_path(name), str(REPO_ROOT))
    assert given == {} and preset == preset_answers(name) and preset


@pytest.mark.parametrize("name", sorted(FIXTURE_PRESETS))
def test_a_slow_variant_fixture_renders_from_each_preset(name: str) -> None:
    """The preset's full tier runs only if a slow fixture renders from it: keep that link visible."""
    assert f'preset_answers("{name}")' in FIXTURE_PRESETS[name].read_text()


def assert_answers_recorded(project: Path, preset: dict) -> None:
    recorded = answers_of(project)
    for key, value in preset.items():
        assert recorded[key] == value, (key, recorded.get(key), value)


def render_preset(copie, name: str) -> tuple[Path, dict]:
    """The preset ``name`` rendered, with every answer it sets recorded in the project."""
    preset = preset_answers(name)
    project = render_ok(copie, preset)
    assert_answers_recorded(project, preset)
    return project, preset


def test_credit_risk_renders_a_fair_explained_served_tabular_model(copie) -> None:
    project, preset = render_preset(copie, "credit-risk")
    package = project / "src/my_ml_project"
    assert (package / "fairness/__main__.py").is_file() and (package / "explanations/__main__.py").is_file()
    assert (package / "models/mlp.py").is_file() and (project / "Dockerfile").is_file()
    assert (project / "deploy/kubernetes").is_dir()
    assert not (package / "export/quantize.py").exists()
    trainer = yaml.safe_load((project / "configs/trainer/default.yaml").read_text())
    assert trainer["monitor"] == preset["target_metric"]  # early stopping and best.pt follow the release metric
    fairness = yaml.safe_load((project / "configs/fairness/default.yaml").read_text())
    assert fairness["max_difference"] == 0.1
    assert "shap" in (project / "pyproject.toml").read_text()
    card = (project / "docs/model_card.md").read_text()
    assert "GDPR" in card and "CCPA" in card


def test_edge_image_int8_renders_a_quantized_image_model_without_a_container(copie) -> None:
    project, _ = render_preset(copie, "edge-image-int8")
    package = project / "src/my_ml_project"
    assert (package / "models/cnn.py").is_file() and (package / "export/quantize.py").is_file()
    assert yaml.safe_load((project / "configs/export.yaml").read_text())["export"]["quantize"] is True
    assert yaml.safe_load((project / "configs/readiness/default.yaml").read_text())["model_size_budget_mb"] == 200
    assert (package / "serving").is_dir()
    assert not (project / "Dockerfile").exists() and not (project / "deploy/kubernetes").exists()


def test_hf_text_cloud_renders_a_transformers_server_for_kubernetes(copie) -> None:
    project, _ = render_preset(copie, "hf-text-cloud")
    assert '"transformers>=5"' in (project / "pyproject.toml").read_text()
    assert yaml.safe_load((project / "configs/model/tiny.yaml").read_text())["pretrained"] is None  # offline
    assert (project / "Dockerfile").is_file() and (project / "deploy/kubernetes/kustomization.yaml").is_file()
    assert (project / "src/my_ml_project/serving").is_dir()
    assert not (project / "src/my_ml_project/export/quantize.py").exists()


def test_new_with_a_preset_name_renders_its_answers_and_data_wins(tmp_path: Path) -> None:
    destination = tmp_path / "edge"
    result = runner.invoke(app, ["new", str(destination), "--defaults", "--preset", "edge-image-int8", "-d", "seed=9"])
    assert result.exit_code == 0, result.output
    recorded = answers_of(destination)
    assert recorded["deployment_target"] == "edge" and recorded["quantization"] is True
    assert recorded["modality"] == "image" and recorded["docker"] is False and recorded["seed"] == 9


def test_an_unknown_preset_is_refused_naming_the_shipped_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "x"), "--defaults", "--preset", "credit"])
    assert result.exit_code == 2, result.output
    assert "unknown preset 'credit'. Presets: credit-risk, edge-image-int8, hf-text-cloud" in result.output
    assert not (tmp_path / "x").exists()


def test_a_preset_and_an_answers_file_together_are_refused(tmp_path: Path) -> None:
    own = tmp_path / "own.yml"
    own.write_text("seed: 1\n")
    result = runner.invoke(
        app, ["new", str(tmp_path / "x"), "--defaults", "--preset", "credit-risk", "--answers-file", str(own)]
    )
    assert result.exit_code == 2 and "--preset and --answers-file both give a preset" in result.output
    assert not (tmp_path / "x").exists()


def test_new_help_lists_the_preset_names() -> None:
    result = runner.invoke(app, ["new", "--help"])
    assert result.exit_code == 0
    assert "--preset" in result.output
    assert "credit-risk" in result.output and "hf-text-cloud" in result.output
