"""Render tests: every valid combination renders a clean project; bad answers are refused.

These use pytest-copie's ``copie`` fixture, which renders the repository's template
(``--template``, default ``.``) with real Copier.
"""

import compileall
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import yaml

from .conftest import load_copier_config

CLASSIFICATION_METRICS = ["accuracy", "f1", "roc_auc", "precision", "recall"]
REGRESSION_METRICS = ["r2", "rmse", "mae"]

MAIN_COMBINATIONS = (
    [
        {"framework": "pytorch", "modality": "tabular", "task": task, "target_metric": metric, "data_format": fmt}
        for task, metrics in (("classification", CLASSIFICATION_METRICS), ("regression", REGRESSION_METRICS))
        for metric, fmt in itertools.product(metrics, ["csv", "parquet"])
    ]
    + [
        {
            "framework": "pytorch",
            "modality": modality,
            "task": "classification",
            "target_metric": metric,
            "data_format": fmt,
        }
        for modality, formats in (("image", ["image_folder"]), ("text", ["csv", "jsonl"]))
        for metric, fmt in itertools.product(CLASSIFICATION_METRICS, formats)
    ]
    + [
        {
            "framework": "huggingface",
            "modality": modality,
            "task": "classification",
            "target_metric": metric,
            "data_format": fmt,
        }
        for modality, formats in (("image", ["image_folder"]), ("text", ["csv", "jsonl"]))
        for metric, fmt in itertools.product(["accuracy", "roc_auc"], formats)
    ]
)

OPTION_VARIANTS = [
    {"license": "MIT"},
    {"license": "BSD-3-Clause"},
    {"license": "Proprietary"},
    {"python_version": "3.10"},
    {"python_version": "3.13"},
    {"sensitive_features": "", "fairness_checks": False},
    {"sensitive_features": "gender, ethnicity,age_group"},
    {"privacy": ["gdpr", "hipaa"]},
    {"deployment_target": "mobile"},
    {"deployment_target": "batch", "serving": False, "onnx_export": False},
    # Without a server each framework and modality has the local benchmark instead of a load test.
    {"deployment_target": "batch"},
    {"modality": "image", "serving": False},
    {"modality": "text", "deployment_target": "batch"},
    {"framework": "huggingface", "modality": "text", "serving": False},
    {"framework": "huggingface", "modality": "image", "deployment_target": "batch"},
    {"accelerator": "cuda", "mixed_precision": "fp16"},
    {"project_name": "Fraud Detector 2", "package_name": "fraud_detector"},
    {"package_name": "a_thirty_character_package_nam"},  # the longest allowed: formatting holds
    {"experiment_tracking": "tensorboard"},
    {"experiment_tracking": "none"},
    {"explainability": "none"},
    {"modality": "image", "explainability": "none"},
    {"framework": "huggingface", "modality": "text", "explainability": "none"},
]

EXPECTED_FILES = [
    ".copier-answers.yml",
    ".gitignore",
    "LICENSE",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "configs/train.yaml",
    "configs/evaluate.yaml",
    "configs/readiness.yaml",
    "configs/readiness/default.yaml",
    "configs/data/demo.yaml",
    "configs/data/file.yaml",
    "configs/trainer/default.yaml",
    "configs/debug/fast.yaml",
    "docs/model_card.md",
    "docs/datasheet.md",
    "configs/model_card.yaml",
    "tests/test_model_card.py",
    "tests/test_trainer.py",
    "configs/drift.yaml",
    "tests/test_drift.py",
    "tests/test_drift_shifts.py",  # and tests/drift_inputs.py: one of each per modality
    "tests/drift_inputs.py",
    "configs/hydra/default.yaml",
    "configs/paths/default.yaml",
    "configs/runs.yaml",
    "tests/test_runs.py",
    # the model registry (make promote, make rollback) and its runbook, in every variant
    "configs/registry.yaml",
    "tests/test_registry.py",
    "docs/operations.md",
    # the guides for a new engineer, and the test that what they name exists
    "docs/onboarding.md",
    "docs/troubleshooting.md",
    "docs/deployment.md",
    "tests/test_docs_pages.py",
]
# The model card and datasheet generator (python -m <package>.documents), in every variant.
DOCUMENTATION_FILES = [
    "documents/__main__.py",
    "documents/__init__.py",
    "documents/front_matter.py",
    "core/markers.py",
    "documents/measurements.py",
    "core/placeholders.py",
    "documents/sections.py",
]
# Monitoring of inputs (reference profile, drift check, python -m <package>.monitoring), in every variant.
MONITORING_FILES = [
    "monitoring/__main__.py",
    *(f"core/drift/{name}.py" for name in ("__init__", "profile", "detector", "features", "inputs", "reference")),
]
# The shared layer every stage imports (one package per stage; no stage imports another).
CORE_FILES = [
    f"core/{name}.py"
    for name in (
        "__init__", "artifacts", "atomic", "checkpoint", "config", "devices", "errors", "integrity", "inference",
        "metrics", "placeholders", "markers", "predict", "reporting", "reproducibility", "runs", "scoring",
        "show_runs", "sweeps", "history", "waivers", "registry",
    )
]  # fmt: skip
# The training interface both frameworks share (the same files; tests/test_training_interface.py).
TRAINING_INTERFACE_FILES = ["training/callbacks.py", "training/optimization.py", "training/schedule.py"]
PACKAGE_FILES = [
    *MONITORING_FILES,
    *CORE_FILES,
    "training/__main__.py",
    "evaluation/__main__.py",
    "readiness/__main__.py",
    "readiness/checks.py",
    "readiness/checklist.py",
    "readiness/test_results.py",
    "registry/__init__.py",
    "registry/__main__.py",
    "data/dataset.py",
    "data/demo.py",
    "data/preprocessing.py",
    "training/trainer.py",
    *TRAINING_INTERFACE_FILES,
    *DOCUMENTATION_FILES,
]
# Experiment tracking: the files of each choice ("none" renders neither and mentions no tracker).
TRACKING_FILES = {
    "mlflow": ["configs/tracking/mlflow.yaml", "src/{package}/core/tracking.py", "src/{package}/core/pyfunc_model.py"],
    "tensorboard": ["configs/tracking/tensorboard.yaml"],
}
TRACKER_FILES = ["src/{package}/training/tracking.py", "tests/test_tracking.py"]
# Files only some modalities have: (project files, package files).
MODALITY_FILES = {
    "tabular": (
        ["configs/model/mlp.yaml", "configs/experiment/wide_mlp.yaml"],
        ["models/mlp.py", "data/tables.py", "core/drift/batch.py"],
    ),
    "image": (["configs/model/cnn.yaml", "configs/model/resnet18.yaml"], ["models/cnn.py", "data/images.py"]),
    "text": (
        ["configs/model/transformer.yaml", "configs/model/bigru.yaml"],
        ["models/text_classifier.py", "models/bigru.py", "data/tables.py", "core/drift/batch.py"],
    ),
}
# Hugging Face projects: transformers.Trainer, a model factory and datasets instead of the
# project's own Trainer, checkpoints and model classes.
HF_EXPECTED_FILES = [
    *(name for name in EXPECTED_FILES if name != "tests/test_trainer.py"),
    "configs/model/tiny.yaml",
    "configs/experiment/wider_model.yaml",
    "tests/test_trainer.py",
    "tests/test_data.py",
    "tests/test_model.py",
    "tests/test_edge_cases.py",
]
HF_PACKAGE_FILES = [
    *MONITORING_FILES,
    *CORE_FILES,
    "training/__main__.py",
    "evaluation/__main__.py",
    "data/dataset.py",
    "data/demo.py",
    "data/source.py",
    "data/splits.py",
    "models/factory.py",
    "models/labels.py",
    "training/trainer.py",
    *TRAINING_INTERFACE_FILES,
    "data/preprocessing.py",
    *DOCUMENTATION_FILES,
]
# What only PyTorch projects have: never rendered into a Hugging Face project.
PYTORCH_ONLY_FILES = [
    "data/loading.py",
    "models/cnn.py",
    "models/resnet.py",
    "models/text_classifier.py",
    "models/bigru.py",
]
# Files only some answers have: (project files, package files), present exactly when the answer is true.
EXPORT_FILES = (
    ["configs/export.yaml", "tests/test_export.py"],
    ["export/__init__.py", "export/__main__.py", "export/onnx_model.py", "export/parity.py", "export/pipeline.py"],
)
QUANTIZATION_FILES = ([], ["export/quantize.py"])
# Files the serving answer adds (project files, package files); the docker answer adds DOCKER_FILES.
SERVING_FILES = (
    [
        "configs/serve.yaml",
        "configs/loadtest.yaml",
        "deploy/prometheus.yml",
        "deploy/alerts.yml",
        "deploy/alerts.test.yml",
        "deploy/grafana-dashboard.json",
        "tests/test_serve.py",
        "tests/test_serve_drift.py",
        "tests/serve_inputs.py",  # one per modality
        "tests/test_deploy.py",
        "configs/rollout.yaml",
        "tests/test_rollout.py",
    ],
    [
        "serving/__main__.py",
        "rollout/__init__.py",
        "rollout/__main__.py",
        "rollout/comparison.py",
        "loadtest/__init__.py",
        "loadtest/__main__.py",
        "loadtest/loadgen.py",
        *(
            f"serving/{name}.py"
            for name in ("__init__", "app", "batching", "drift", "factory", "logs", "metrics", "middleware", "rollout")
        ),
        # The rest of core/service/ is batch scoring's too (BATCH_SCORING_FILES).
        *(f"core/service/{name}.py" for name in ("process", "settings")),
    ],
)  # fmt: skip
DOCKER_FILES = ["Dockerfile", ".dockerignore"]
# The Kubernetes manifests (kubectl apply -k deploy/kubernetes) and their test: a cloud server in a container only.
KUBERNETES_FILES = [
    *(
        f"deploy/kubernetes/{name}.yaml"
        for name in ("kustomization", "values", "deployment", "service", "hpa", "pdb", "servicemonitor")
    ),
    "tests/test_kubernetes.py",
]
# Batch scoring (project files, package files): rendered in every project, with the server's
# shared runtime in core/service/ (its settings and child process come only with serving).
BATCH_SCORING_FILES = (
    ["configs/predict.yaml", "tests/test_predict.py", "tests/predict_inputs.py"],
    [
        *(
            f"predict/{name}.py"
            for name in ("__init__", "__main__", "inputs", "parts", "run", "scoring", "settings", "files")
        ),
        *(f"core/service/{name}.py" for name in ("__init__", "backends", "instances", "model", "schemas")),
    ],
)
# The local benchmark (project files, package files): rendered exactly when there is no server.
BENCHMARK_FILES = (
    ["configs/benchmark.yaml", "tests/test_benchmark.py"],
    ["benchmark/__init__.py", "benchmark/__main__.py"],
)
# Rendered only with fairness_checks (every framework and modality).
FAIRNESS_FILES = ["configs/fairness.yaml", "configs/fairness/default.yaml", "tests/test_fairness.py"]
FAIRNESS_PACKAGE_FILES = [
    "fairness/__init__.py",
    "fairness/__main__.py",
    "fairness/checks.py",
    "fairness/inputs.py",
    "fairness/report.py",
    "fairness/mitigation.py",
]
# Rendered only when explainability is not none (shap for tables, integrated_gradients otherwise).
EXPLAIN_FILES = ["configs/explain.yaml", "tests/test_explain.py", "tests/test_attributions.py"]
EXPLAIN_PACKAGE_FILES = [
    "explanations/__main__.py",
    "explanations/__init__.py",
    "core/attributions.py",
    "explanations/plots.py",
    "core/explanation_report.py",
]
EXPLAIN_SERVING_FILE = "serving/explanations.py"  # and only with serving
INTEGRATION_REFINEMENT_FILE = "core/refinement.py"  # integrated gradients only
JINJA_RESIDUE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
# Go-template actions of Prometheus alert annotations (deploy/alerts.yml): rendered on purpose.
PROMETHEUS_TEMPLATE = re.compile(r"\{\{ \$(labels\.[a-z_]+|value \| [A-Za-z]+) \}\}")


def render_ok(copie, answers: dict) -> Path:
    result = copie.copy(extra_answers=answers)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return Path(result.project_dir)


def assert_optional_files(project: Path, package: str, answers: dict) -> None:
    """Export files exist exactly with onnx_export, quantization files exactly with both answers."""
    exporting = bool(answers.get("onnx_export"))
    for wanted, (project_files, package_files) in (
        (exporting, EXPORT_FILES),
        (exporting and bool(answers.get("quantization")), QUANTIZATION_FILES),
    ):
        for path in [project / name for name in project_files] + [
            project / "src" / package / name for name in package_files
        ]:
            assert path.is_file() == wanted, f"{path.relative_to(project)} {'missing' if wanted else 'rendered'}"


def assert_make_targets_run_rendered_stages(project: Path, package: str) -> None:
    """Every ``python -m <package>.<stage>`` in the Makefile names a module the project has."""
    stages = re.findall(r"\$\(PACKAGE\)\.([\w.]+)", (project / "Makefile").read_text())
    assert stages, "the Makefile runs no stage"
    for stage in stages:
        module = project / "src" / package / stage.replace(".", "/")
        assert module.with_suffix(".py").is_file() or (module / "__main__.py").is_file(), f"make runs {stage}"


def assert_tracking_files(project: Path, package: str, tracking: str) -> None:
    """The chosen tracker's files and no other's; without MLflow, no file mentions it."""
    for choice, relatives in TRACKING_FILES.items():
        for relative in relatives:
            assert (project / relative.format(package=package)).is_file() == (tracking == choice), relative
    for relative in TRACKER_FILES:
        assert (project / relative.format(package=package)).is_file() == (tracking != "none"), relative
    if tracking != "mlflow":
        mentions = [
            path.relative_to(project)
            for path in project.rglob("*")
            if path.is_file() and "mlflow" in path.read_text(encoding="utf-8", errors="replace").lower()
        ]
        assert not mentions, f"experiment_tracking={tracking} renders MLflow in {mentions}"


def assert_clean_project(project: Path, package: str) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    modality = answers["modality"]
    assert_optional_files(project, package, answers)
    optional = [
        (answers["serving"], SERVING_FILES[0]),
        (answers["serving"], ["src/" + package + "/" + name for name in SERVING_FILES[1]]),
        (not answers["serving"], BENCHMARK_FILES[0]),
        (not answers["serving"], ["src/" + package + "/" + name for name in BENCHMARK_FILES[1]]),
        (True, BATCH_SCORING_FILES[0]),
        (True, ["src/" + package + "/" + name for name in BATCH_SCORING_FILES[1]]),
    ]
    kubernetes = answers["deployment_target"] == "cloud" and answers["serving"] and answers["docker"]
    for chosen, relatives in [*optional, (answers["docker"], DOCKER_FILES), (kubernetes, KUBERNETES_FILES)]:
        for relative in relatives:
            assert (project / relative).is_file() == chosen, (
                f"{relative} with deployment_target={answers['deployment_target']},"
                f" serving={answers['serving']}, docker={answers['docker']}"
            )
    assert ("kubernetes-validate" in (project / "pyproject.toml").read_text()) == kubernetes
    assert_tracking_files(project, package, answers["experiment_tracking"])
    if answers["framework"] == "huggingface":
        for relative in HF_EXPECTED_FILES:
            assert (project / relative).is_file(), relative
        for relative in HF_PACKAGE_FILES:
            assert (project / "src" / package / relative).is_file(), relative
        for relative in PYTORCH_ONLY_FILES:
            assert not (project / "src" / package / relative).exists(), f"{relative} in a Hugging Face project"
    else:
        project_files, package_files = MODALITY_FILES[modality]
        for relative in [*EXPECTED_FILES, *project_files]:
            assert (project / relative).is_file(), relative
        for relative in [*PACKAGE_FILES, *package_files]:
            assert (project / "src" / package / relative).is_file(), relative
        for other, (_, other_package_files) in MODALITY_FILES.items():
            if other != modality:
                for relative in set(other_package_files) - set(package_files):
                    assert not (project / "src" / package / relative).exists(), f"{relative} in a {modality} project"
    # Not asked (and not recorded) without sensitive features: then there are no checks.
    fairness_checks = answers.get("fairness_checks", False)
    for relative in FAIRNESS_FILES:
        assert (project / relative).is_file() == fairness_checks, relative
    for relative in FAIRNESS_PACKAGE_FILES:
        assert (project / "src" / package / relative).is_file() == fairness_checks, relative
    assert_make_targets_run_rendered_stages(project, package)
    explaining = answers["explainability"] != "none"
    for relative in EXPLAIN_FILES:
        assert (project / relative).is_file() == explaining, relative
    for relative in EXPLAIN_PACKAGE_FILES:
        assert (project / "src" / package / relative).is_file() == explaining, relative
    refining = (project / "src" / package / INTEGRATION_REFINEMENT_FILE).is_file()
    assert refining == (answers["explainability"] == "integrated_gradients"), INTEGRATION_REFINEMENT_FILE
    served = (project / "src" / package / EXPLAIN_SERVING_FILE).is_file()
    assert served == (explaining and answers["serving"]), EXPLAIN_SERVING_FILE
    for path in project.rglob("*"):
        if path.is_file():
            assert path.suffix != ".jinja", path
            text = path.read_text(encoding="utf-8")
            residue = JINJA_RESIDUE.search(PROMETHEUS_TEMPLATE.sub("", text))
            assert residue is None, f"{path}: Jinja residue {residue.group()!r}"
    assert compileall.compile_dir(project / "src", quiet=1, force=True)
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."], cwd=project, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize(
    "answers",
    MAIN_COMBINATIONS,
    ids=lambda a: f"{a['framework']}-{a['modality']}-{a['task']}-{a['target_metric']}-{a['data_format']}",
)
def test_every_valid_combination_renders_a_clean_project(copie, answers: dict) -> None:
    project = render_ok(copie, answers)
    assert_clean_project(project, "my_ml_project")
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    trainer = yaml.safe_load((project / "configs/trainer/default.yaml").read_text())
    data_file = yaml.safe_load((project / "configs/data/file.yaml").read_text())
    assert train["task"] == answers["task"]
    readiness = yaml.safe_load((project / "configs/readiness/default.yaml").read_text())
    assert trainer["monitor"] == readiness["target_metric"] == answers["target_metric"]
    assert data_file["format"] == answers["data_format"]
    if answers["modality"] != "image":
        assert data_file["path"].endswith(f".{answers['data_format']}")


@pytest.mark.parametrize("answers", OPTION_VARIANTS, ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()))
def test_option_variants_render_cleanly(copie, answers: dict) -> None:
    project = render_ok(copie, answers)
    assert_clean_project(project, answers.get("package_name", "my_ml_project"))


def test_answers_reach_the_generated_files(copie) -> None:
    project = render_ok(
        copie,
        {
            "license": "MIT",
            "python_version": "3.12",
            "seed": 7,
            "accelerator": "cpu",
            "mixed_precision": "no",
            "target_metric_value": 0.9,
            "latency_budget_ms": 20.0,
            "sensitive_features": "gender,age_group",
            "privacy": ["gdpr"],
        },
    )
    assert (project / "LICENSE").read_text().startswith("MIT License")
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.12"' in pyproject and 'target-version = "py312"' in pyproject
    assert '"torch>=2.10"' in pyproject
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert train["seed"] == 7
    readiness = yaml.safe_load((project / "configs/readiness/default.yaml").read_text())
    assert readiness["target_metric_value"] == 0.9 and readiness["latency_budget_ms"] == 20.0
    assert readiness["model_size_budget_mb"] == 2048  # cloud has a size budget too
    assert readiness["waivers"] == {}  # nothing is released unmeasured until the owners say why
    trainer = yaml.safe_load((project / "configs/trainer/default.yaml").read_text())
    assert trainer["accelerator"] == "cpu" and trainer["mixed_precision"] == "no"
    data_file = yaml.safe_load((project / "configs/data/file.yaml").read_text())
    assert data_file["sensitive_columns"] == ["gender", "age_group"]
    assert "GDPR" in (project / "docs/datasheet.md").read_text()
    model_yaml = yaml.safe_load((project / "configs/model/mlp.yaml").read_text())
    assert model_yaml["_target_"] == "my_ml_project.models.mlp.MLP"


def test_experiment_tracking_renders_only_when_chosen(copie) -> None:
    plain = render_ok(copie, {"experiment_tracking": "none"})
    tensorboard = render_ok(copie, {"experiment_tracking": "tensorboard"})
    mlflow = render_ok(copie, {})  # the default
    assert yaml.safe_load((mlflow / ".copier-answers.yml").read_text())["experiment_tracking"] == "mlflow"
    for project, tracking in ((plain, "none"), (tensorboard, "tensorboard"), (mlflow, "mlflow")):
        assert_tracking_files(project, "my_ml_project", tracking)
    assert "tracking: null" in (plain / "configs/train.yaml").read_text()
    assert "- tracking: tensorboard" in (tensorboard / "configs/train.yaml").read_text()
    assert '"tensorboard>=2.16"' in (tensorboard / "pyproject.toml").read_text()
    assert "- tracking: mlflow" in (mlflow / "configs/train.yaml").read_text()
    assert '"mlflow>=3.1"' in (mlflow / "pyproject.toml").read_text()
    hydra = yaml.safe_load((mlflow / "configs/hydra/default.yaml").read_text())
    assert hydra["callbacks"]["mlflow_stage"]["_target_"] == "my_ml_project.core.tracking.StageLogger"
    assert "\nui:" in (mlflow / "Makefile").read_text() and "\nui:" not in (plain / "Makefile").read_text()


def test_export_and_quantization_render_only_when_chosen(copie) -> None:
    none = render_ok(copie, {"onnx_export": False})
    fp32 = render_ok(copie, {"onnx_export": True, "quantization": False})
    int8 = render_ok(copie, {"onnx_export": True, "quantization": True, "deployment_target": "mobile"})
    assert not (none / "src/my_ml_project/export").exists()
    assert "onnx" not in (none / "pyproject.toml").read_text() and "export:" not in (none / "Makefile").read_text()
    assert "export_report" not in yaml.safe_load((none / "configs/paths/default.yaml").read_text())
    for project in (fp32, int8):
        assert '"onnxruntime>=' in (project / "pyproject.toml").read_text()
        assert "$(PACKAGE).export" in (project / "Makefile").read_text()
        assert "make export" in "\n".join(
            step.get("run", "")
            for step in yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"]["test"]["steps"]
        )
        paths = yaml.safe_load((project / "configs/paths/default.yaml").read_text())
        assert paths["export_report"] == "${.run_dir}/export.json"  # in the chosen run's folder
    assert "quantize" not in yaml.safe_load((fp32 / "configs/export.yaml").read_text())["export"]
    export = yaml.safe_load((int8 / "configs/export.yaml").read_text())["export"]
    assert export["quantize"] is True and export["size_budget_mb"] == "${readiness.model_size_budget_mb}"
    assert yaml.safe_load((int8 / "configs/readiness/default.yaml").read_text())["model_size_budget_mb"] == 50
    assert "quantize_int8" not in (fp32 / "src/my_ml_project/export/pipeline.py").read_text()


@pytest.mark.parametrize("framework", ["pytorch", "huggingface"])
def test_fairness_renders_only_when_requested(copie, framework: str) -> None:
    modality = "text" if framework == "huggingface" else "tabular"
    base = {"framework": framework, "modality": modality, "sensitive_features": "sex,age_group"}
    checked = render_ok(copie, {**base, "fairness_checks": True, "fairness_threshold": 0.05})
    unchecked = render_ok(copie, {**base, "fairness_checks": False})
    for project in (checked, unchecked):
        assert_clean_project(project, "my_ml_project")
    thresholds = yaml.safe_load((checked / "configs/fairness/default.yaml").read_text())
    assert thresholds["max_difference"] == 0.05 and thresholds["min_ratio"] == 0.8
    assert thresholds["mitigation"] == "none" and thresholds["min_group_size"] > 0
    stage = yaml.safe_load((checked / "configs/fairness.yaml").read_text())
    assert {"fairness": "default"} in stage["defaults"] and {"paths": "default"} in stage["defaults"]
    assert thresholds["accelerator"] == "auto"  # the stage's settings, all under fairness:
    assert '"fairlearn>=' in (checked / "pyproject.toml").read_text()
    assert "\nfairness:" in (checked / "Makefile").read_text()
    assert "## Fairness" in (checked / "README.md").read_text()
    # Nothing of fairness without the answer: no dependency, config group, stage or test.
    assert not (unchecked / "configs/fairness").exists() and not (unchecked / "configs/fairness.yaml").exists()
    for path in unchecked.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml", ".yaml", ".yml", ""):
            assert "fairlearn" not in path.read_text(), path
    assert "fairness" not in (unchecked / "Makefile").read_text()
    assert "## Fairness" not in (unchecked / "README.md").read_text()
    # The gate reads the run's fairness.json, or says the check was not requested (no such path).
    assert "fairness" not in yaml.safe_load((unchecked / "configs/paths/default.yaml").read_text())
    checked_paths = yaml.safe_load((checked / "configs/paths/default.yaml").read_text())
    assert checked_paths["fairness"] == "${.run_dir}/fairness.json"


@pytest.mark.parametrize(
    ("framework", "modality", "method", "library"),
    [
        ("pytorch", "tabular", "shap", "shap"),
        ("pytorch", "image", "integrated_gradients", "captum"),
        ("huggingface", "text", "integrated_gradients", "captum"),
    ],
)
def test_explanations_render_only_when_requested(
    copie, framework: str, modality: str, method: str, library: str
) -> None:
    base = {"framework": framework, "modality": modality}
    explained = render_ok(copie, {**base, "explainability": method})
    unexplained = render_ok(copie, {**base, "explainability": "none"})
    for project in (explained, unexplained):
        assert_clean_project(project, "my_ml_project")
    dependencies = (explained / "pyproject.toml").read_text()
    assert f'"{library}>=' in dependencies and '"matplotlib>=' in dependencies
    assert ('"captum>=' if library == "shap" else '"shap>=') not in dependencies
    assert "\nexplain:" in (explained / "Makefile").read_text()
    assert "make explain" in (explained / "README.md").read_text()
    stage = yaml.safe_load((explained / "configs/explain.yaml").read_text())["explain"]
    assert stage["split"] == "test" and stage["num_examples"] >= 1
    assert ("background_size" if method == "shap" else "n_steps") in stage
    assert yaml.safe_load((explained / "configs/serve.yaml").read_text())["serve"]["explanations"] is False
    paths = yaml.safe_load((explained / "configs/paths/default.yaml").read_text())
    assert paths["explanations"] == "${.explanations_dir}/explanations.json"
    # matplotlib stays: every project draws the figures of its reports (core/figures.py).
    assert '"matplotlib>=' in (unexplained / "pyproject.toml").read_text()
    # Nothing of explanations without the answer: no dependency, stage, route, setting or test.
    assert "explanations" not in yaml.safe_load((unexplained / "configs/paths/default.yaml").read_text())
    assert "explanations" not in yaml.safe_load((unexplained / "configs/serve.yaml").read_text())["serve"]
    for path in unexplained.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml", ".yaml", ".yml", ""):
            text = path.read_text()
            for word in ("import shap", "captum", "/v1/explain", "explanations.attributions"):
                assert word not in text, (path, word)
    assert "explain" not in (unexplained / "Makefile").read_text()
    assert "make explain" not in (unexplained / "README.md").read_text()


def test_regression_demo_data_targets_the_numeric_column(copie) -> None:
    project = render_ok(copie, {"task": "regression"})
    demo = yaml.safe_load((project / "configs/data/demo.yaml").read_text())
    assert demo["target_column"] == "credit_limit_k"
    assert "approved" not in demo["numeric_columns"] + demo["categorical_columns"]


INVALID_ANSWERS = [
    ({"project_name": "1st project"}, "Start with a letter"),
    ({"package_name": "os"}, "would shadow the standard library"),
    ({"package_name": "torch"}, "would shadow"),
    ({"package_name": "pandas"}, "would shadow"),
    ({"package_name": "My-Package"}, "lower-case Python identifier"),
    ({"package_name": "a_thirty_one_character_package_"}, "at most 30 characters"),
    ({"package_name": "class"}, "would shadow"),
    ({"description": 'say "hi"'}, "without double quotes"),
    ({"author_email": "not-an-email"}, "e-mail address"),
    ({"task": "regression", "target_metric": "accuracy"}, "classification metric"),
    ({"task": "classification", "target_metric": "rmse"}, "regression metric"),
    ({"target_metric_value": 1.5}, "lies between 0 and 1"),
    ({"target_metric_value": 0.0}, "lies between 0 and 1"),
    ({"task": "regression", "target_metric": "rmse", "target_metric_value": -1.0}, "positive upper bound"),
    ({"latency_budget_ms": 0.0}, "between 0 and 60000 ms"),
    ({"throughput_rps": -5.0}, "between 0 and 1,000,000"),
    ({"data_format": "jsonl"}, "read from csv or parquet"),
    ({"sensitive_features": "sex, home town"}, "is not a column name"),
    ({"fairness_threshold": 2.0}, "between 0 and 1"),
    ({"seed": -1}, "between 0 and 4294967295"),
]


# pytest-copie passes these as user defaults (presets), which Copier checks only for the
# questions it asks: fairness_checks=yes without a sensitive feature, a question then not
# asked, is refused as --data (tests/test_interview.py) and ignored as a preset by mlscaffold.
@pytest.mark.parametrize(("answers", "message"), INVALID_ANSWERS, ids=[str(a) for a, _ in INVALID_ANSWERS])
def test_invalid_answers_are_refused_with_a_fix(copie, answers: dict, message: str) -> None:
    result = copie.copy(extra_answers=answers)
    assert result.exception is not None
    assert message in str(result.exception)


def test_hugging_face_with_tables_suggests_pytorch(copie) -> None:
    config = load_copier_config()
    validator = config["modality"]["choices"]["Tables (CSV or Parquet)"]["validator"]
    assert "choose framework=pytorch for tabular data" in validator
    result = copie.copy(extra_answers={"framework": "huggingface", "modality": "tabular"})
    assert result.exception is not None
    assert "choose framework=pytorch for tabular data" in str(result.exception)


def test_reserved_names_cover_the_standard_library() -> None:
    reserved = set(load_copier_config()["reserved_package_names"]["default"])
    public_stdlib = {name.lower() for name in sys.stdlib_module_names if not name.startswith("_")}
    assert public_stdlib <= reserved
    assert {"torch", "numpy", "pandas", "sklearn", "hydra", "fastapi", "tests", "src"} <= reserved


def test_every_question_has_help_and_a_default() -> None:
    for name, question in load_copier_config().items():
        if name.startswith("_") or question.get("when") is False:
            continue
        assert question.get("help"), f"{name} has no help text"
        assert "default" in question, f"{name} has no default"


def test_template_needs_no_trust() -> None:
    config = load_copier_config()
    for unsafe_key in ("_tasks", "_migrations", "_jinja_extensions"):
        assert unsafe_key not in config
    assert config["_subdirectory"] == "template" and "_min_copier_version" in config


def test_serving_renders_only_when_chosen_and_its_deploy_files_agree_with_the_server(copie) -> None:
    served = render_ok(copie, {"modality": "image", "serving": True, "docker": True})
    batch = render_ok(copie, {"deployment_target": "batch", "serving": False, "docker": False, "onnx_export": False})
    assert not (batch / "src/my_ml_project/serving").exists() and not (batch / "deploy").exists()
    batch_pyproject = (batch / "pyproject.toml").read_text()
    assert "fastapi" not in batch_pyproject and "uvicorn" not in batch_pyproject and "aiohttp" not in batch_pyproject
    batch_makefile = (batch / "Makefile").read_text()
    assert "serve:" not in batch_makefile and "loadtest:" not in batch_makefile and "benchmark:" in batch_makefile
    batch_paths = yaml.safe_load((batch / "configs/paths/default.yaml").read_text())
    assert "loadtest" not in batch_paths  # the gate reads the benchmark instead
    assert batch_paths["benchmark"] == "${.run_dir}/benchmark.json"
    assert "prometheus" not in (batch / ".github/workflows/ci.yml").read_text()

    pyproject = (served / "pyproject.toml").read_text()
    for dependency in ('"fastapi>=', '"uvicorn>=', '"prometheus-client>=', '"python-multipart>=', '"aiohttp>='):
        assert dependency in pyproject, dependency
    makefile = (served / "Makefile").read_text()
    assert "serve:" in makefile and "loadtest:" in makefile and "docker-build:" in makefile
    assert "benchmark" not in makefile and "benchmark" not in (served / "configs/readiness.yaml").read_text()
    assert "apt-get install -y --no-install-recommends prometheus" in (served / ".github/workflows/ci.yml").read_text()

    # Every metric the dashboard charts is one the server defines, with its Prometheus suffixes.
    metrics_source = "".join(
        (served / "src/my_ml_project/serving" / module).read_text() for module in ("metrics.py", "drift.py")
    )
    defined = {f"serving_{name}" for name in re.findall(r'f"\{PREFIX\}_([a-z_]+)"', metrics_source)}
    dashboard = json.loads((served / "deploy/grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    charted = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in expressions
        for name in re.findall(r"serving_[a-z_]+", expr)
    }
    assert charted and charted <= defined, charted - defined
    promtool = shutil.which("promtool")
    if promtool:
        # Another name and latency budget: the alert rules still load, and their unit tests pass.
        renamed = render_ok(copie, {"project_name": "Fraud Detector 2", "latency_budget_ms": 250})
        assert 'job="fraud-detector-2-server"' in (renamed / "deploy/alerts.yml").read_text()
        assert "> 0.25\n" in (renamed / "deploy/alerts.yml").read_text()
        for project in (served, renamed):
            for command in (("check", "config", "deploy/prometheus.yml"), ("test", "rules", "deploy/alerts.test.yml")):
                checked = subprocess.run([promtool, *command], cwd=project, capture_output=True, text=True)
                assert checked.returncode == 0, checked.stdout + checked.stderr

    dockerfile = (served / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") == 2 and "AS build" in dockerfile and "AS runtime" in dockerfile
    assert "\nUSER app" in dockerfile and "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert 'ENTRYPOINT ["python", "-m", "my_ml_project.serving"' in dockerfile
    assert "torchvision" in dockerfile and "--index-url https://download.pytorch.org/whl/cpu" in dockerfile
    dockerignore = (served / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "tests", "artifacts", "!artifacts/runs/**/checkpoints/best.pt"} <= set(dockerignore)
    assert {"!artifacts/runs/**/export", "!artifacts/runs/**/run.json"} <= set(dockerignore)


@pytest.mark.parametrize(
    "answers",
    [
        {"deployment_target": "cloud", "serving": True, "docker": True},
        {"deployment_target": "cloud", "serving": True, "docker": False},
        {"deployment_target": "serverless", "serving": True, "docker": True},
    ],  # and without serving: assert_clean_project on OPTION_VARIANTS
    ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()),
)
def test_kubernetes_manifests_render_only_for_a_cloud_server_in_a_container(copie, answers: dict) -> None:
    project = render_ok(copie, answers)
    wanted = answers == {"deployment_target": "cloud", "serving": True, "docker": True}
    assert [relative for relative in KUBERNETES_FILES if (project / relative).is_file() != wanted] == []
    assert (project / "deploy/kubernetes").exists() == wanted
    assert ("kubernetes-validate" in (project / "pyproject.toml").read_text()) == wanted
    assert ("kubectl apply -k deploy/kubernetes" in (project / "README.md").read_text()) == wanted
    if wanted:  # the image and the job name are the project's
        values = yaml.safe_load((project / "deploy/kubernetes/values.yaml").read_text())
        assert values["data"]["image"] == "my-ml-project:latest"
        monitor = yaml.safe_load((project / "deploy/kubernetes/servicemonitor.yaml").read_text())
        assert monitor["spec"]["endpoints"][0]["relabelings"][0]["replacement"] == "my-ml-project-server"


@pytest.mark.parametrize(
    "answers", [{}, {"framework": "huggingface", "modality": "text"}], ids=["pytorch", "huggingface"]
)
def test_the_docker_context_holds_the_model_the_server_loads(copie, answers: dict) -> None:
    """The image is built with a run's model: .dockerignore re-includes, in every run, what the server loads."""
    project = render_ok(copie, {**answers, "serving": True, "docker": True})
    paths = yaml.safe_load((project / "configs/paths/default.yaml").read_text())
    served = paths["checkpoint"].replace("${.checkpoint_dir}", paths["checkpoint_dir"])
    served = served.replace("${.model_dir}", paths.get("model_dir", "")).replace("${.run_dir}", "artifacts/runs/**")
    included = (project / ".dockerignore").read_text().splitlines()
    assert "artifacts" in included and f"!{served}" in included, (served, included)
    dockerfile = (project / "Dockerfile").read_text()
    assert "ARG RUN_DIR" in dockerfile and "COPY --chown=app:app ${RUN_DIR} ./${RUN_DIR}" in dockerfile
    assert "--build-arg RUN_DIR=" in (project / "Makefile").read_text()  # make docker-build picks the run


# ---------------------------------------------------------------- config names the project mentions
# The five variants the issue names: the default (PyTorch, tables), images, texts, Hugging Face
# (texts by default) and Hugging Face images.
FIVE_VARIANTS = [
    {},
    {"modality": "image"},
    {"modality": "text"},
    {"framework": "huggingface"},
    {"framework": "huggingface", "modality": "image"},
]
# Every config group any variant has (template/configs/<group>, its Copier condition removed):
# a mention of a group this project lacks (tracking=... without TensorBoard) is wrong too.
CONFIG_GROUPS = sorted(
    re.sub(r"\{%.*?%\}", "", path.name)
    for path in (Path(__file__).resolve().parents[1] / "template/configs").iterdir()
    if path.is_dir()
)
# group=option as Hydra reads it on a command line (+group=, ++group=, or a -m sweep's a,b list);
# not a key (data.batch_size=) and not inside a longer name (train_data=).
CONFIG_MENTION = re.compile(
    rf"(?<![\w.\-/+])\+{{0,2}}({'|'.join(CONFIG_GROUPS)})=([a-z0-9_]+(?:,[a-z0-9_]+)*)(?![\w\-/$]|\.\w)"
)
MENTIONING_SUFFIXES = {".md", ".yaml", ".yml", ".toml", ".py", ".cfg", ".txt", ""}


def mentionable_text(path: Path) -> str:
    """The text of ``path`` where a config name can be mentioned: everything, except that in
    Python only strings and comments count (``model=model`` is a keyword argument)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return text
    kinds = (tokenize.STRING, tokenize.COMMENT)
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return "\n".join(token.string for token in tokens if token.type in kinds)


def missing_config_mentions(project: Path) -> list[str]:
    """``file: group=option`` for each mention in ``project`` of a config ``configs/<group>/<option>.yaml`` it lacks."""
    missing = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if not path.is_file() or path.suffix not in MENTIONING_SUFFIXES or relative.parts[0] in {".git", "artifacts"}:
            continue
        for match in CONFIG_MENTION.finditer(mentionable_text(path)):
            group, options = match.groups()
            for option in options.split(","):
                if not (project / "configs" / group / f"{option}.yaml").is_file():
                    missing.append(f"{relative}: {group}={option}")
    return missing


@pytest.mark.parametrize("answers", FIVE_VARIANTS, ids=lambda a: "-".join(a.values()) or "default")
def test_every_config_name_a_project_mentions_exists_in_it(copie, answers: dict) -> None:
    """README, Makefile, configs, docs and source name only configs the project has."""
    project = render_ok(copie, answers)
    assert missing_config_mentions(project) == []


def test_a_mention_of_a_config_the_project_lacks_is_found(tmp_path: Path) -> None:
    """The check above fails on such a mention (an image project told to try experiment=wide_mlp)."""
    (tmp_path / "configs/experiment").mkdir(parents=True)
    (tmp_path / "configs/experiment/small_cnn.yaml").write_text("# @package _global_\n")
    (tmp_path / "configs/model").mkdir()
    (tmp_path / "configs/model/cnn.yaml").write_text("_target_: x\n")
    (tmp_path / "configs/train.yaml").write_text("# try experiment=wide_mlp or experiment=small_cnn\n")
    (tmp_path / "README.md").write_text("make train ARGS='+experiment=small_cnn model=cnn data.batch_size=8'\n")
    (tmp_path / "Makefile").write_text("sweep:\n\tpython -m pkg.train -m model=cnn,vit\n")
    package = tmp_path / "src/pkg"
    package.mkdir(parents=True)
    (package / "train.py").write_text(
        'def run(model=None):\n    return build(model=model)  # see debug=fast\n\n\nHINT = "data=file"\n'
    )
    assert missing_config_mentions(tmp_path) == [
        "Makefile: model=vit",
        "configs/train.yaml: experiment=wide_mlp",
        "src/pkg/train.py: debug=fast",
        "src/pkg/train.py: data=file",
    ]
