"""The Hugging Face variants (text and image): render cleanly, train, resume, evaluate.

Render checks reuse test_render's ``render_ok`` and ``assert_clean_project`` (which knows the
Hugging Face layout); the end-to-end checks (marked slow) run each rendered project's own
test suite and its stages through ``PYTHONPATH=<project>/src``, with the Hub switched off
(``HF_HUB_OFFLINE=1``) so that nothing is downloaded.
"""

import json
from pathlib import Path

import pytest
import yaml

from .conftest import assert_integrated_gradients_add_up, check, latest_run, preset_answers, python, run
from .demo_disparity import assert_demo_disparity_found
from .test_render import assert_clean_project, render_ok

HF_TEXT = {"framework": "huggingface", "modality": "text"}
HF_IMAGE = {"framework": "huggingface", "modality": "image", "data_format": "image_folder"}
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
# The demo reviews are balanced between two labels; the demo images between three shapes.
CHANCE = {"text": 0.5, "image": 1 / 3}
# Clearly above chance, with room for the tiny ResNet's seed-to-seed spread on a few hundred images
# (bench/reports/demo_variants.json has the measured spread).
REQUIRED_ACCURACY = {"text": 0.8, "image": 0.65}


@pytest.mark.parametrize("answers", [HF_TEXT, HF_IMAGE], ids=["text", "image"])
def test_hugging_face_variant_renders_a_clean_project(copie, answers: dict) -> None:
    project = render_ok(copie, answers)
    assert_clean_project(project, "my_ml_project")
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"model": "tiny"} in train["defaults"]
    assert not (project / "configs/model/pretrained.yaml").exists()
    tiny = yaml.safe_load((project / "configs/model/tiny.yaml").read_text())
    assert tiny["pretrained"] is None and tiny["model_type"] == ("bert" if answers["modality"] == "text" else "resnet")
    paths = yaml.safe_load((project / "configs/paths/default.yaml").read_text())
    assert paths["model_dir"] == "${.run_dir}/model" and paths["checkpoint"] == "${.model_dir}"
    pyproject = (project / "pyproject.toml").read_text()
    assert '"transformers>=5"' in pyproject and '"datasets>=' in pyproject and "torchvision" not in pyproject
    readme = (project / "README.md").read_text()
    assert "transformers.Trainer" in readme and "checkpoint.py" not in readme
    assert "checkpoint" not in yaml.safe_load((project / "configs/readiness.yaml").read_text())  # paths only


@pytest.mark.parametrize(
    "answers",
    [
        {**HF_TEXT, "experiment_tracking": "tensorboard", "data_format": "jsonl"},
        {**HF_IMAGE, "experiment_tracking": "tensorboard", "ci": "gitlab"},
        {**HF_TEXT, "sensitive_features": "", "fairness_checks": False, "python_version": "3.10"},
    ],
    ids=["text-tensorboard", "image-tensorboard-gitlab", "text-no-sensitive-mlflow"],
)
def test_hugging_face_option_variants_render_cleanly(copie, answers: dict) -> None:
    project = render_ok(copie, answers)
    assert_clean_project(project, "my_ml_project")
    if answers.get("experiment_tracking") == "tensorboard":
        assert (project / "src/my_ml_project/training/tracking.py").is_file()
        tracking = yaml.safe_load((project / "configs/tracking/tensorboard.yaml").read_text())
        # the same tracker callback as PyTorch projects (training/callbacks.py protocol)
        assert tracking == {
            "_target_": "my_ml_project.training.tracking.TensorBoardTracker",
            "log_dir": "${paths.tensorboard}",  # the run's folder (configs/paths/)
        }
    else:  # the default, MLflow: the same tracker as PyTorch projects, which asks for the Trainer's integration
        tracking = yaml.safe_load((project / "configs/tracking/mlflow.yaml").read_text())
        assert tracking["_target_"] == "my_ml_project.training.tracking.MlflowTracker"
        tracker = (project / "src/my_ml_project/training/tracking.py").read_text()
        assert 'huggingface_integration = "mlflow"' in tracker


@pytest.mark.parametrize(
    ("answers", "hub_name"),
    [(HF_TEXT, "distilbert-base-uncased"), (HF_IMAGE, "google/vit-base-patch16-224")],
    ids=["text", "image"],
)
def test_a_model_name_makes_from_pretrained_the_default(copie, answers: dict, hub_name: str) -> None:
    """The resolved config names the Hub model, and the factory's from_pretrained path reads it."""
    project = render_ok(copie, {**answers, "model_name": hub_name})
    assert_clean_project(project, "my_ml_project")
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert {"model": "pretrained"} in train["defaults"]
    composed = run(
        python("-m", "my_ml_project.training", "--cfg", "job", "--resolve"),
        project,
        pythonpath=[project / "src"],
        env=OFFLINE,
    )
    check(composed, "composing the training config")
    assert yaml.safe_load(composed.stdout)["model"] == {"pretrained": hub_name}
    factory = (project / "src/my_ml_project/models/factory.py").read_text()
    assert "from_pretrained(\n            pretrained, ignore_mismatched_sizes=True" in factory


def test_the_model_name_must_look_like_a_hub_name(copie) -> None:
    result = copie.copy(extra_answers={**HF_TEXT, "model_name": "not a name!"})
    assert result.exception is not None
    assert "Give a Hub name such as distilbert-base-uncased" in str(result.exception)


# ---------------------------------------------------------------- end to end (slow)


@pytest.fixture(scope="module", params=["text", "image"])
def hf_project(request: pytest.FixtureRequest, copie_session) -> tuple[str, Path]:
    """The text project is rendered from the hf-text-cloud preset (the same answers as HF_TEXT's
    defaults: a tiny BERT served in a container), so the preset's full test tier runs here."""
    answers = preset_answers("hf-text-cloud") if request.param == "text" else HF_IMAGE
    assert {key: answers[key] for key in HF_TEXT} == HF_TEXT or request.param == "image"
    result = copie_session.copy(extra_answers=answers)
    assert result.exception is None, result.exception
    return request.param, Path(result.project_dir)


@pytest.mark.slow
def test_hugging_face_project_passes_its_own_tests(hf_project: tuple[str, Path]) -> None:
    """Includes config, data, model, edge-case and Trainer tests and SIGKILL-then-resume."""
    _, project = hf_project
    src = [project / "src"]
    check(
        run(python("-m", "pytest", "-q", "-p", "no:cacheprovider"), project, pythonpath=src, env=OFFLINE),
        "the project's pytest",
    )


@pytest.mark.slow
def test_hugging_face_project_trains_above_chance_and_evaluates(hf_project: tuple[str, Path]) -> None:
    modality, project = hf_project
    src = [project / "src"]
    check(run(python("-m", "my_ml_project.data.demo"), project, pythonpath=src, env=OFFLINE), "demo data")
    check(run(python("-m", "my_ml_project.training"), project, pythonpath=src, env=OFFLINE), "train")
    run_dir = latest_run(project)  # the run the release stages below read and write
    assert not (run_dir / "metrics.json").exists()  # the test split is the evaluation stage's
    check(run(python("-m", "my_ml_project.evaluation"), project, pythonpath=src, env=OFFLINE), "evaluate")
    metrics_path = run_dir / "metrics.json"
    trained = json.loads(metrics_path.read_text())
    accuracy = trained["metrics"]["accuracy"]
    assert accuracy >= REQUIRED_ACCURACY[modality], (
        f"demo test accuracy {accuracy:.3f}; chance is {CHANCE[modality]:.3f}"
    )
    model_dir = run_dir / "model"
    assert (model_dir / "model.safetensors").is_file() and not (model_dir / "training_args.bin").exists()
    labels = json.loads((model_dir / "config.json").read_text())["id2label"]
    assert list(labels.values()) == trained["class_names"]
    metrics_path.unlink()
    check(run(python("-m", "my_ml_project.evaluation"), project, pythonpath=src, env=OFFLINE), "evaluate")
    assert json.loads(metrics_path.read_text())["metrics"] == trained["metrics"]
    check(run(python("-m", "my_ml_project.explanations"), project, pythonpath=src, env=OFFLINE), "explain")
    explained = json.loads((run_dir / "explanations/explanations.json").read_text())
    assert_integrated_gradients_add_up(explained)
    assert_fairness_stage_runs_on_the_demo(modality, project)


def assert_fairness_stage_runs_on_the_demo(modality: str, project: Path) -> None:
    """Text: noisier en_gb labels, narrowed by ThresholdOptimizer. Image: 3 classes, no mitigation."""
    src = [project / "src"]
    mitigation = "fairness.mitigation=threshold_optimizer"
    fairness = run(python("-m", "my_ml_project.fairness", mitigation), project, pythonpath=src, env=OFFLINE)
    if modality == "image":
        assert fairness.returncode == 1 and "ThresholdOptimizer post-processes binary classifiers" in fairness.stderr
        fairness = run(python("-m", "my_ml_project.fairness"), project, pythonpath=src, env=OFFLINE)
    check(fairness, "fairness")
    report = json.loads((latest_run(project) / "fairness.json").read_text())
    assert_demo_disparity_found(report, f"huggingface-{modality}", mitigation=modality == "text")
    feature = "dialect" if modality == "text" else "background"
    assert report["features"][feature]["disparities"]["equalized_odds_difference"] > 0.05
    if modality == "image":
        assert report["mitigation"]["status"] == "not applicable"
