"""The framework=pytorch, modality=text variant: renders cleanly, trains, resumes, evaluates.

Render checks reuse test_render's ``render_ok`` and ``assert_clean_project`` with the text
project's file layout; the end-to-end checks (marked slow) run the rendered project's own
test suite and its stages through ``PYTHONPATH=<project>/src``, as test_generated_project does.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mlscaffold.cli import app

from . import test_render
from .conftest import REPO_ROOT, assert_integrated_gradients_add_up, check, latest_run, python, run
from .demo_disparity import assert_demo_disparity_found
from .test_render import assert_clean_project, render_ok

TEXT = {"framework": "pytorch", "modality": "text"}

TABULAR_ONLY_FILES = ["configs/model/mlp.yaml", "configs/experiment/wide_mlp.yaml", "src/my_ml_project/models/mlp.py"]
TEXT_EXPECTED_FILES = [
    *(name for name in test_render.EXPECTED_FILES if name not in TABULAR_ONLY_FILES),
    "configs/model/transformer.yaml",
    "configs/model/bigru.yaml",
    "configs/experiment/wide_transformer.yaml",
    "tests/test_data.py",
    "tests/test_edge_cases.py",
    "tests/test_model.py",
    "tests/test_stages.py",
    "tests/test_configs.py",
]
TEXT_PACKAGE_FILES = [
    *(name for name in test_render.PACKAGE_FILES if name != "models/mlp.py"),
    "data/tables.py",
    "models/text_classifier.py",
    "models/bigru.py",
    "models/factory.py",
]
# The demo reviews are balanced between two labels, so guessing scores 0.5.
CHANCE_ACCURACY = 0.5


@pytest.fixture
def text_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``assert_clean_project`` expect the text project's files instead of the tabular ones."""
    monkeypatch.setattr(test_render, "EXPECTED_FILES", TEXT_EXPECTED_FILES)
    monkeypatch.setattr(test_render, "PACKAGE_FILES", TEXT_PACKAGE_FILES)


@pytest.mark.parametrize("data_format", ["csv", "jsonl"])
def test_text_variant_renders_a_clean_project(copie, text_layout: None, data_format: str) -> None:
    project = render_ok(copie, {**TEXT, "data_format": data_format})
    assert_clean_project(project, "my_ml_project")
    for relative in TABULAR_ONLY_FILES:
        assert not (project / relative).exists(), relative
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"model": "transformer"} in train["defaults"] and train["task"] == "classification"
    data_file = yaml.safe_load((project / "configs/data/file.yaml").read_text())
    assert data_file["format"] == data_format and data_file["path"].endswith(f".{data_format}")
    assert {"text_column", "target_column", "max_length", "vocab_size"} <= set(data_file)
    demo = yaml.safe_load((project / "configs/data/demo.yaml").read_text())
    assert (demo["text_column"], demo["target_column"]) == ("review", "sentiment")
    assert demo["sensitive_columns"] == ["dialect", "age_group"]
    for name, target in (("transformer", "text_classifier.TransformerClassifier"), ("bigru", "bigru.BiGRUClassifier")):
        model = yaml.safe_load((project / f"configs/model/{name}.yaml").read_text())
        assert model["_target_"] == f"my_ml_project.models.{target}"
    assert '"tokenizers>=' in (project / "pyproject.toml").read_text()
    readme = (project / "README.md").read_text()
    assert "data.text_column" in readme and "models/text_classifier.py" in readme and "mlp.py" not in readme
    conftest = (project / "tests/conftest.py").read_text()
    assert 'EXAMPLE_MODEL_INPUTS = {"vocab_size": 120, "num_classes": 2, "padding_idx": 0}' in conftest
    assert "JSON Lines" in (project / "src/my_ml_project/data/tables.py").read_text()


@pytest.mark.parametrize(
    "answers",
    [
        {"python_version": "3.10"},
        {"python_version": "3.13"},
        {"experiment_tracking": "tensorboard"},
        {"sensitive_features": "", "fairness_checks": False},
        {"package_name": "a_thirty_character_package_nam"},
    ],
    ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()),
)
def test_text_option_variants_render_cleanly(copie, text_layout: None, answers: dict) -> None:
    project = render_ok(copie, {**TEXT, **answers})
    package = answers.get("package_name", "my_ml_project")
    assert_clean_project(project, package)
    file_yaml = yaml.safe_load((project / "configs/data/file.yaml").read_text())
    default = "dialect, age_group"  # the text demo data's sensitive columns
    expected = [name.strip() for name in answers.get("sensitive_features", default).split(",") if name.strip()]
    assert file_yaml["sensitive_columns"] == expected


def test_tabular_projects_keep_their_layout(copie) -> None:
    """The shared files the text variant touched still render the tabular project."""
    project = render_ok(copie, {"modality": "tabular"})
    assert_clean_project(project, "my_ml_project")
    assert not (project / "src/my_ml_project/models/text_classifier.py").exists()
    assert not (project / "configs/model/transformer.yaml").exists()
    assert "data.text_column" not in (project / "README.md").read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"task": "regression", "target_metric": "r2"}, "Regression is available for tabular data only"),
        ({"data_format": "parquet"}, "Text data is read from csv or jsonl"),
        ({"data_format": "image_folder"}, "Text data is read from csv or jsonl"),
    ],
    ids=["regression", "parquet", "image_folder"],
)
def test_invalid_text_answers_are_refused(copie, answers: dict, message: str) -> None:
    result = copie.copy(extra_answers={**TEXT, **answers})
    assert result.exception is not None
    assert message in str(result.exception)


# ---------------------------------------------------------------- end to end (slow)


@pytest.fixture(scope="module")
def text_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("text") / "reviews"
    # --template: this checkout's template, whichever checkout the installed mlscaffold points at.
    arguments = ["new", str(destination), "--defaults", "--template", str(REPO_ROOT)]
    result = CliRunner().invoke(app, [*arguments, "-d", "modality=text", "-d", "data_format=jsonl"])
    assert result.exit_code == 0, result.output
    return destination


@pytest.mark.slow
def test_text_project_declares_dependencies_that_resolve_offline(text_project: Path) -> None:
    result = run(python("-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation", "."), text_project)
    check(result, "resolving the text project's dependencies offline")


@pytest.mark.slow
def test_text_project_passes_its_own_tests(text_project: Path) -> None:
    """Includes the shared Trainer, config and stage tests (SIGKILL mid-run, then exact resume)."""
    src = [text_project / "src"]
    check(
        run(python("-m", "pytest", "-q", "-p", "no:cacheprovider"), text_project, pythonpath=src),
        "the project's pytest",
    )
    collected = run(python("-m", "pytest", "--collect-only", "-q"), text_project, pythonpath=src)
    for name in ("test_data.py", "test_edge_cases.py", "test_model.py", "test_stages.py", "test_trainer.py"):
        assert name in collected.stdout, name


@pytest.mark.slow
def test_text_project_trains_above_chance_and_evaluates(text_project: Path) -> None:
    src = [text_project / "src"]
    check(run(python("-m", "my_ml_project.data.demo"), text_project, pythonpath=src), "demo data")
    check(run(python("-m", "my_ml_project.training"), text_project, pythonpath=src), "train")
    run_dir = latest_run(text_project)  # the run the release stages below read and write
    assert not (run_dir / "metrics.json").exists()  # the test split is the evaluation stage's
    check(run(python("-m", "my_ml_project.evaluation"), text_project, pythonpath=src), "evaluate")
    metrics_path = run_dir / "metrics.json"
    trained = json.loads(metrics_path.read_text())
    accuracy = trained["metrics"]["accuracy"]
    assert accuracy >= 0.85, (
        f"demo test accuracy {accuracy:.3f} is not clearly above chance ({CHANCE_ACCURACY} for the two balanced labels)"
    )
    assert trained["class_names"] == ["negative", "positive"] and trained["target"]["met"] is True
    preprocessor = json.loads((run_dir / "preprocessor.json").read_text())
    assert isinstance(preprocessor["tokenizer_json"], str) and preprocessor["max_length"] == 32
    metrics_path.unlink()
    check(run(python("-m", "my_ml_project.evaluation"), text_project, pythonpath=src), "evaluate")
    evaluated = json.loads(metrics_path.read_text())
    assert evaluated["metrics"] == trained["metrics"]
    check(run(python("-m", "my_ml_project.explanations"), text_project, pythonpath=src), "explain")
    explained = json.loads((run_dir / "explanations/explanations.json").read_text())
    assert_integrated_gradients_add_up(explained)
    # The demo's en_gb labels are noisier: an equalized-odds gap by dialect, narrowed by mitigation.
    mitigation = "fairness.mitigation=threshold_optimizer"
    check(run(python("-m", "my_ml_project.fairness", mitigation), text_project, pythonpath=src), "fairness")
    fairness = json.loads((run_dir / "fairness.json").read_text())
    assert_demo_disparity_found(fairness, "pytorch-text", mitigation=True)
    assert fairness["features"]["dialect"]["disparities"]["equalized_odds_difference"] >= 0.08
    # The demo reviews the demo-data step wrote (CSV), as JSON Lines: the other reader.
    [demo_csv] = (text_project / "artifacts/demo_data").glob("reviews-*-n4000-seed42.csv")
    (text_project / "data").mkdir(exist_ok=True)
    reviews = pd.read_csv(demo_csv)
    reviews.to_json(text_project / "data/demo.jsonl", orient="records", lines=True, force_ascii=False)
    from_file = run(
        python(
            "-m",
            "my_ml_project.training",
            "model=bigru",
            "debug=fast",
            "data=file",
            "data.path=data/demo.jsonl",
            "data.text_column=review",
            "data.target_column=sentiment",
            "data.sensitive_columns=[dialect,age_group]",
        ),
        text_project,
        pythonpath=src,
    )
    check(from_file, "training the BiGRU on the demo reviews written as JSON Lines")
    assert "data/demo.jsonl, 2800/600/600 texts" in from_file.stdout + from_file.stderr
    # A run of its own, now the latest: export works on it with no arguments.
    bigru_run = latest_run(text_project)
    assert bigru_run != run_dir and bigru_run.name.endswith("-debug")
    export = python("-m", "my_ml_project.export")
    check(run(export, text_project, pythonpath=src), "exporting the BiGRU")
    exported = json.loads((bigru_run / "export.json").read_text())
    assert exported["model"] == "BiGRUClassifier" and exported["parity"]["passed"]
    exported_preprocessor = json.loads((bigru_run / "export/preprocessor.json").read_text())
    max_length = exported_preprocessor["max_length"]
    assert exported["input"] == {"name": "inputs", "dtype": "int64", "shape": ["batch", max_length]}
