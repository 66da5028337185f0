"""The generated model card and datasheet: privacy sections per answer, Hub metadata, and
documents that ``make model-card`` leaves unchanged until something is measured."""

import re
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from .conftest import check, python, run
from .test_render import render_ok

PLACEHOLDER = "To be filled by the owners"
# What each privacy answer must add: (model card items, datasheet items).
PRIVACY_ITEMS = {
    "gdpr": (
        ["Automated decisions (Art. 22)", "DPIA (Art. 35)", "Erasure and objection"],
        ["Lawful basis (Arts. 6, 9)", "Data subject rights (Arts. 15-21)", "DPIA (Art. 35)", "Retention"],
    ),
    "hipaa": (
        ["PHI in the model", "Access controls", "Business associate agreements"],
        ["PHI de-identification", "Business associate agreements", "Access controls and audit logs"],
    ),
    "ccpa": (
        ["Requests to delete or correct", "Sensitive personal information"],
        ["Notice at collection", "opt out of sale or sharing", "Retention"],
    ),
}


def section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n")
    ends = [text.find(f"\n{'#' * size} ", start + 1) for size in range(1, len(level) + 1)]
    return text[start : min([end for end in ends if end != -1], default=len(text))]


@pytest.mark.parametrize(
    "privacy", [[], ["gdpr"], ["hipaa"], ["ccpa"], ["gdpr", "hipaa", "ccpa"]], ids=lambda p: "+".join(p) or "none"
)
def test_privacy_answers_add_their_sections_and_checklists(copie, privacy: list[str]) -> None:
    project = render_ok(copie, {"privacy": privacy})
    card = (project / "docs/model_card.md").read_text()
    datasheet = (project / "docs/datasheet.md").read_text()
    assert ("## Privacy and data protection" in datasheet) == bool(privacy)
    for regime, (card_items, datasheet_items) in PRIVACY_ITEMS.items():
        heading = f"### {regime.upper()}"
        assert (f"\n{heading}\n" in card) == (regime in privacy), regime
        assert (f"\n{heading}\n" in datasheet) == (regime in privacy), regime
        if regime not in privacy:
            continue
        card_section = section(card, heading)
        assert section(card, "## Ethical considerations").count(heading) == 1
        for item in card_items:
            assert item in card_section, item
        datasheet_section = section(datasheet, heading)
        for item in datasheet_items:
            assert item in datasheet_section, item
        for text in (card_section, datasheet_section):
            items = [line for line in text.splitlines() if line.startswith("- [ ] ")]
            assert items and all(line.endswith(f"**{PLACEHOLDER}.**") for line in items)


@pytest.mark.parametrize(
    ("answers", "license_key", "library", "task"),
    [
        ({"license": "MIT"}, {"license": "mit"}, "pytorch", "tabular-classification"),
        (
            {"license": "Proprietary", "task": "regression", "target_metric": "rmse", "target_metric_value": 5.0},
            {"license": "other", "license_name": "proprietary"},
            "pytorch",
            "tabular-regression",
        ),
        (
            {"framework": "huggingface", "modality": "image"},
            {"license": "apache-2.0"},
            "transformers",
            "image-classification",
        ),
    ],
    ids=["mit", "proprietary-regression", "hf-image"],
)
def test_the_card_front_matter_is_hub_metadata(
    copie, answers: dict, license_key: dict, library: str, task: str
) -> None:
    project = render_ok(copie, answers)
    card = ModelCard.load(project / "docs/model_card.md")
    metadata = card.data.to_dict()
    assert {key: metadata[key] for key in license_key} == license_key
    assert metadata["library_name"] == library and metadata["pipeline_tag"] == task
    assert card.data.eval_results is None  # nothing measured yet
    config = yaml.safe_load((project / "configs/model_card.yaml").read_text())
    assert config["model_card"]["card"]["task_type"] == task


@pytest.mark.parametrize(
    "answers",
    [
        {"privacy": ["gdpr", "hipaa", "ccpa"]},
        {
            "deployment_target": "batch",
            "serving": False,
            "onnx_export": False,
            "sensitive_features": "",
            "fairness_checks": False,
            "explainability": "none",
        },
        {"framework": "huggingface", "modality": "text"},
    ],
    ids=["pytorch-all-blocks", "pytorch-no-optional-blocks", "hf-text"],
)
def test_fresh_documents_are_what_make_model_card_writes_before_any_run(copie, tmp_path: Path, answers: dict) -> None:
    """The texts the template starts the measured blocks with are the generator's own, so the
    first ``make model-card`` on a fresh project changes nothing."""
    project = render_ok(copie, answers)
    names = ("docs/model_card.md", "docs/datasheet.md", "README.md")
    documents = {name: (project / name).read_text() for name in names}
    result = run(
        python("-m", "my_ml_project.documents", f"paths.artifacts_dir={tmp_path / 'nothing-yet'}"),
        project,
        pythonpath=[project / "src"],
    )
    check(result, "python -m my_ml_project.documents")
    assert result.stdout.count("already up to date") == 3, result.stdout
    assert {name: (project / name).read_text() for name in documents} == documents
    fairness = answers.get("fairness_checks", True)
    # test-times: make test-times; curves: the training curves make evaluate draws
    expected = {"curves", "metrics", "test-split", "waivers", "targets", "test-times"}
    expected |= {"fairness", "groups"} if fairness else set()
    expected |= {"export"} if answers.get("onnx_export", True) else set()
    expected |= {"latency"} if answers.get("serving", True) else {"benchmark"}
    expected |= {"explanations"} if answers.get("explainability") != "none" else set()
    assert set(re.findall(r"<!-- measured:([a-z-]+):start -->", "".join(documents.values()))) == expected
