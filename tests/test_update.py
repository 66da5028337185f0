"""Updates: template versions reach generated projects and the owners' edits survive.

Every test drives real ``copier update`` through real git repositories: a throw-away
repository of this template with tags, and a generated project committed by its owner.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import CliRunner

from mlscaffold.cli import app
from mlscaffold.template_store import PUBLIC_SOURCE

from .conftest import REPO_ROOT, check, python, run

runner = CliRunner()
MODULE = "src/my_ml_project/models/mlp.py"
TRAINER_CONFIG = "configs/trainer/default.yaml"


def git(repository: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def commit_all(repository: Path, message: str) -> None:
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "-m", message)


def template_repository(root: Path) -> Path:
    """A git repository of this template (copier.yml + template/) tagged v1."""
    repository = root / "template-repo"
    repository.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", repository / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", repository / "template", ignore=shutil.ignore_patterns("__pycache__"))
    git(repository, "init", "--quiet", "-b", "main")
    commit_all(repository, "template v1")
    git(repository, "tag", "v1")
    return repository


def release(repository: Path, tag: str, message: str) -> None:
    commit_all(repository, message)
    git(repository, "tag", tag)


def generate_committed_project(template: Path, destination: Path, *data: str) -> Path:
    arguments = ["new", str(destination), "--defaults", "--template", str(template)]
    for item in data:
        arguments += ["-d", item]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    git(destination, "init", "--quiet", "-b", "main")
    commit_all(destination, "Generated project")
    return destination


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def own_edits(project: Path) -> None:
    """What an owner does: tune a model default and a training setting."""
    edit(project / MODULE, "dropout: float = 0.1,", "dropout: float = 0.25,  # tuned by the owners")
    edit(project / TRAINER_CONFIG, "max_epochs: 30", "max_epochs: 45")
    commit_all(project, "Owner: tune dropout and epochs")


def template_improvements_in_place(checkout: Path) -> None:
    """What the template's v2 does: change another file and add a new one."""
    edit(checkout / "template/Makefile.jinja", "help:  ## Show the targets", "help:  ## Show the targets (v2)")
    (checkout / "template/docs/CHANGELOG.md").write_text("# Changelog\n\n- v2: template improvements\n")


def template_improvements(template: Path) -> None:
    """Release the v2 improvements as tag v2 of the template repository."""
    template_improvements_in_place(template)
    release(template, "v2", "template v2")


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def assert_updated_keeping_edits(project: Path) -> None:
    assert "dropout: float = 0.25,  # tuned by the owners" in (project / MODULE).read_text()
    assert "max_epochs: 45" in (project / TRAINER_CONFIG).read_text()
    assert "## Show the targets (v2)" in (project / "Makefile").read_text()
    assert (project / "docs/CHANGELOG.md").read_text().startswith("# Changelog")
    assert answers(project)["_commit"] == "v2"


def test_mlscaffold_update_brings_v2_and_keeps_owner_edits(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project")
    assert answers(project)["_commit"] == "v1"
    own_edits(project)
    template_improvements(template)

    checked = runner.invoke(app, ["check-update", str(project)])
    assert checked.exit_code == 0 and "newer template version available: v2" in checked.output

    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 0, result.output
    assert "from template v1 to v2" in result.output and "changed: Makefile" in result.output
    assert_updated_keeping_edits(project)
    assert "up to date" in runner.invoke(app, ["check-update", str(project)]).output


def test_plain_copier_update_does_the_same(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project")
    own_edits(project)
    template_improvements(template)
    copier.run_update(project, defaults=True, overwrite=True, skip_answered=True, quiet=True)
    assert_updated_keeping_edits(project)


def project_with_conflicting_edit(tmp_path: Path) -> Path:
    """The owner rewords the line that the template's v2 also changes."""
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project")
    edit(project / "Makefile", "help:  ## Show the targets", "help:  ## List the targets (owner's wording)")
    commit_all(project, "Owner: reword help")
    template_improvements(template)
    return project


def test_conflicting_edits_leave_markers_and_fail_naming_the_file(tmp_path: Path) -> None:
    project = project_with_conflicting_edit(tmp_path)

    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1, result.output
    assert "conflict: Makefile" in result.output and "resolve them" in result.output
    makefile = (project / "Makefile").read_text()
    assert "<<<<<<<" in makefile and ">>>>>>>" in makefile


def test_rej_conflict_mode_names_the_rej_file(tmp_path: Path) -> None:
    project = project_with_conflicting_edit(tmp_path)
    result = runner.invoke(app, ["update", str(project), "--conflict", "rej"])
    assert result.exit_code == 1, result.output
    assert "conflict: Makefile.rej" in result.output


def test_dirty_tree_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project")
    template_improvements(template)
    (project / "README.md").write_text("work in progress\n")
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert "uncommitted changes (README.md); commit or stash them first" in result.output
    assert answers(project)["_commit"] == "v1" and not (project / "docs/CHANGELOG.md").exists()
    assert (project / "README.md").read_text() == "work in progress\n"


def test_a_project_outside_git_is_refused(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--defaults", "--template", str(template)])
    assert result.exit_code == 0
    refused = runner.invoke(app, ["update", str(tmp_path / "p")])
    assert refused.exit_code == 1 and "is not a git repository" in refused.output


def test_a_folder_without_answers_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["update", str(tmp_path)])
    assert result.exit_code == 2 and "has no .copier-answers.yml" in result.output


def test_pretend_writes_nothing(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project")
    template_improvements(template)
    result = runner.invoke(app, ["update", str(project), "--pretend"])
    assert result.exit_code == 0, result.output
    assert answers(project)["_commit"] == "v1" and git(project, "status", "--porcelain") == ""


def rename_seed_question_with_a_migration(template: Path) -> None:
    """v2 renames the `seed` question to `random_seed`; a migration carries the answer over."""
    config = (template / "copier.yml").read_text()
    config = config.replace("\nseed:\n", "\nrandom_seed:\n").replace("0 <= seed <", "0 <= random_seed <")
    rename = (
        "import pathlib, re; answers = pathlib.Path('.copier-answers.yml'); "
        "answers.write_text(re.sub(r'(?m)^seed:', 'random_seed:', answers.read_text()))"
    )
    config += (
        "\n_migrations:\n"
        "  - version: v2\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        f"    command: [{sys.executable!r}, -c, {rename!r}]\n"
    )
    (template / "copier.yml").write_text(config)
    edit(template / "template/configs/train.yaml.jinja", "seed: {{ seed }}", "seed: {{ random_seed }}")
    release(template, "v2", "template v2: seed question renamed to random_seed")


def test_a_migration_keeps_a_renamed_answer(tmp_path: Path) -> None:
    template = template_repository(tmp_path)
    project = generate_committed_project(template, tmp_path / "project", "seed=7")
    rename_seed_question_with_a_migration(template)

    untrusted = runner.invoke(app, ["update", str(project)])
    assert untrusted.exit_code == 1 and "pass --trust" in untrusted.output
    assert answers(project)["_commit"] == "v1"

    trusted = runner.invoke(app, ["update", str(project), "--trust"])
    assert trusted.exit_code == 0, trusted.output
    recorded = answers(project)
    assert recorded["_commit"] == "v2" and recorded["random_seed"] == 7 and "seed" not in recorded
    assert yaml.safe_load((project / "configs/train.yaml").read_text())["seed"] == 7


def build_wheel(source: Path, destination: Path) -> Path:
    result = run(python("-m", "build", "--wheel", "--no-isolation", "--outdir", destination), source)
    assert result.returncode == 0, result.stderr[-3000:]
    return next(destination.glob("mlscaffold-*.whl"))


def install_wheel(wheel: Path, target: Path) -> Path:
    result = run(python("-m", "pip", "install", "--no-deps", "--no-index", "--target", target, wheel), target.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return target


def release_checkout(root: Path) -> Path:
    """This checkout as a git repository whose HEAD is tagged as the release v0.1.0."""
    checkout = root / "checkout"
    shutil.copytree(
        REPO_ROOT,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "*.egg-info", "build", "dist", ".ruff_cache", "my-project"
        ),
    )
    git(checkout, "init", "--quiet", "-b", "main")
    commit_all(checkout, "mlscaffold 0.1.0")
    git(checkout, "tag", "v0.1.0")
    return checkout


def release_0_2_0(checkout: Path) -> None:
    """mlscaffold 0.2.0, whose template changes one file and adds one, committed and tagged."""
    version_file = checkout / "src/mlscaffold/__init__.py"
    version_file.write_text(version_file.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.2.0"'))
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1))
    template_improvements_in_place(checkout)
    commit_all(checkout, "mlscaffold 0.2.0")
    git(checkout, "tag", "v0.2.0")


def machine(root: Path) -> dict[str, str]:
    """The environment of another machine: its own template store, home, caches and git
    configuration, and no network (git may only read local repositories)."""
    home = root / "home"
    home.mkdir(parents=True)
    return {
        "MLSCAFFOLD_DATA_DIR": str(root / "data"),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "share"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "file",
    }


def clone(project: Path, destination: Path) -> Path:
    git(project.parent, "clone", "--quiet", str(project), str(destination))
    return destination


def assert_v0_2_0_with_owner_edits(project: Path) -> None:
    assert "dropout: float = 0.25,  # tuned by the owners" in (project / MODULE).read_text()
    assert "max_epochs: 45" in (project / TRAINER_CONFIG).read_text()
    assert "## Show the targets (v2)" in (project / "Makefile").read_text()
    assert (project / "docs/CHANGELOG.md").is_file()
    assert answers(project)["_commit"] == "v0.2.0" and answers(project)["_src_path"] == PUBLIC_SOURCE


@pytest.mark.slow
def test_teammates_update_offline_on_their_own_machines(tmp_path: Path) -> None:
    """The author generates with mlscaffold 0.1.0; teammates who only ever installed 0.2.0
    clone the project and update it on machines with fresh template stores, offline."""
    checkout = release_checkout(tmp_path)
    old_site = install_wheel(build_wheel(checkout, tmp_path / "dist-old"), tmp_path / "site-old")
    author = machine(tmp_path / "author")
    generated = run(
        python("-m", "mlscaffold", "new", "project", "--defaults"), tmp_path, pythonpath=[old_site], env=author
    )
    assert generated.returncode == 0, generated.stderr
    project = tmp_path / "project"
    # A source that means the same on every machine, not a path into the author's home.
    assert answers(project)["_src_path"] == PUBLIC_SOURCE and answers(project)["_commit"] == "v0.1.0"
    assert str(tmp_path) not in (project / ".copier-answers.yml").read_text()
    git(project, "init", "--quiet", "-b", "main")
    commit_all(project, "Generated project")
    own_edits(project)

    release_0_2_0(checkout)
    new_site = install_wheel(build_wheel(checkout, tmp_path / "dist-new"), tmp_path / "site-new")

    # A teammate with mlscaffold 0.2.0 only: its wheel carries the 0.1.0 template.
    teammate, their_machine = clone(project, tmp_path / "teammate"), machine(tmp_path / "teammate-machine")
    mlscaffold_0_2_0 = {"pythonpath": [new_site], "env": their_machine}
    checked = run(python("-m", "mlscaffold", "check-update", teammate), tmp_path, **mlscaffold_0_2_0)
    assert "newer template version available: v0.2.0" in checked.stdout, checked.stdout + checked.stderr
    updated = run(python("-m", "mlscaffold", "update", teammate), tmp_path, **mlscaffold_0_2_0)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert_v0_2_0_with_owner_edits(teammate)

    # Another teammate runs plain `copier update`: offline it needs the one-time set-up.
    other, other_machine = clone(project, tmp_path / "other"), machine(tmp_path / "other-machine")
    plain_update = python("-m", "copier", "update", "--defaults", "--skip-answered")
    refused = run(plain_update, other, env=other_machine)
    assert refused.returncode != 0 and "github.com/mlscaffold/mlscaffold" in refused.stderr, refused.stderr
    assert answers(other)["_commit"] == "v0.1.0"
    setup = run(python("-m", "mlscaffold", "setup-offline"), tmp_path, pythonpath=[new_site], env=other_machine)
    assert setup.returncode == 0 and "v0.1.0" in setup.stdout and "v0.2.0" in setup.stdout, setup.stdout + setup.stderr
    check(run(plain_update, other, env=other_machine), "plain copier update after mlscaffold setup-offline")
    assert_v0_2_0_with_owner_edits(other)


def test_a_version_missing_from_the_store_gets_one_line_saying_what_to_run(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".copier-answers.yml").write_text(f"_commit: v0.0.9\n_src_path: {PUBLIC_SOURCE}\n")
    result = runner.invoke(app, ["check-update", str(project)])
    assert result.exit_code == 1
    assert "template version v0.0.9 is not in this machine's template store" in result.output
    assert "pipx run --spec mlscaffold==0.0.9 mlscaffold setup-offline" in result.output


def test_a_store_path_of_another_machine_is_named_with_the_fix(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = "/home/someone-else/.local/share/mlscaffold/template"
    (project / ".copier-answers.yml").write_text(f"_commit: v0.1.0\n_src_path: {elsewhere}\n")
    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert f"records the template store of another machine ({elsewhere})" in result.output
    assert f"set _src_path: {PUBLIC_SOURCE}" in result.output


# ---------------------------------------------------------------- the previous release
OWNER_LINE = "owner note: tuned for our data, keep"
COMMENT_SYNTAX = {".py": "# {}", ".yaml": "# {}", ".yml": "# {}", ".toml": "# {}", ".md": "<!-- {} -->"}


def previous_release_repository(root: Path) -> Path:
    """A template repository: the previous release (``PREVIOUS_RELEASE``) tagged v1, this tree v2."""
    from mlscaffold.releases import extract_previous_release

    repository = root / "release-repo"
    repository.mkdir()
    git(repository, "init", "--quiet", "-b", "main")
    extract_previous_release(REPO_ROOT, repository)
    release(repository, "v1", "template of the previous release")
    for name in ("copier.yml", "template"):
        path = repository / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copy2(REPO_ROOT / "copier.yml", repository / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", repository / "template", ignore=shutil.ignore_patterns("__pycache__"))
    git(repository, "add", "--all")  # empty while this release changes nothing in the template
    git(repository, "commit", "--quiet", "--allow-empty", "-m", "template of this release")
    git(repository, "tag", "v2")
    return repository


def moved_files(package: str) -> dict[str, str]:
    """The release notes' table of moved files (docs/releases.md), old path -> new path."""
    from mlscaffold.releases import RELEASE_NOTES

    lines = (REPO_ROOT / RELEASE_NOTES).read_text().splitlines()
    start = lines.index("| old path | new path |") + 2  # below the header and its |---|---|
    moved = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        old, new = (cell.strip().strip("`").replace("<package>", package) for cell in line.strip("|").split("|")[:2])
        moved[old] = new
    return moved


def stable_window(old: list[str], new: list[str], index: int, radius: int = 3) -> bool:
    """Whether the lines around ``old[index]`` appear unchanged, in a row, in ``new``."""
    window = old[max(index - radius, 0) : index + radius + 1]
    return any(new[start : start + len(window)] == window for start in range(len(new) - len(window) + 1))


def edit_a_config_value(project: Path, reference: Path, moved: dict[str, str]) -> tuple[str, str]:
    """Change a number in a config the new version did not touch around it; returns (file, line).

    The owners' edits that an update must keep are those in lines the template left alone
    (where both changed, a conflict is right: tests above). The trainer's max_epochs first.
    """
    configs = sorted(project.glob("configs/**/*.yaml"), key=lambda path: "trainer" not in path.parts)
    for config in configs:
        relative = config.relative_to(project).as_posix()
        if relative in moved or not (reference / relative).is_file():
            continue
        lines, new_lines = config.read_text().splitlines(), (reference / relative).read_text().splitlines()
        for index, line in enumerate(lines):
            key, _, value = line.partition(": ")
            if key.isidentifier() and value.isdigit() and stable_window(lines, new_lines, index):
                lines[index] = f"{key}: {int(value) + 7}"
                config.write_text("\n".join(lines) + "\n")
                return relative, lines[index]
    raise AssertionError("no config value of the previous release is left alone by this one")


def add_a_readme_section(project: Path, reference: Path) -> str:
    """The owners' own README section, before a heading the new version kept as it was."""
    lines = (project / "README.md").read_text().splitlines()
    new_lines = (reference / "README.md").read_text().splitlines()
    for index in range(len(lines) - 1, 0, -1):
        if lines[index].startswith("## ") and stable_window(lines, new_lines, index):
            section = ["## Team notes", "", OWNER_LINE, ""]
            (project / "README.md").write_text("\n".join([*lines[:index], *section, *lines[index:]]) + "\n")
            return "## Team notes"
    raise AssertionError("no README heading of the previous release is left alone by this one")


def edit_moved_files(project: Path, reference: Path, moved: dict[str, str]) -> dict[str, str]:
    """Append an owner's line to every moved file this project has; returns old -> new path."""
    edited = {}
    for old, new in moved.items():
        comment = COMMENT_SYNTAX.get(Path(old).suffix)
        if comment and (project / old).is_file() and not (reference / old).exists() and (reference / new).is_file():
            with (project / old).open("a") as file:
                file.write(comment.format(OWNER_LINE) + "\n")
            edited[old] = new
    return edited


def carry_over(project: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    """docs/releases.md's step: apply the edits of OLD.rej to NEW with git apply --reject."""
    hunks = (project / f"{old}.rej").read_text().split("\n", 1)[1]
    patch = f"--- a/{new}\n+++ b/{new}\n{hunks}"
    return subprocess.run(["git", "apply", "--reject"], cwd=project, input=patch, capture_output=True, text=True)


@pytest.mark.slow
def test_the_previous_release_updates_keeping_owner_edits(tmp_path: Path) -> None:
    """A project made with the previous release, edited by its owners, updates to this one.

    Edits in files that stayed keep; an owner's file keeps; each moved file of the release
    notes that the owners edited leaves OLD.rej, and the notes' step carries it to NEW.
    """
    template = previous_release_repository(tmp_path)
    generated = runner.invoke(
        app, ["new", str(tmp_path / "project"), "--defaults", "--template", str(template), "--vcs-ref", "v1"]
    )
    assert generated.exit_code == 0, generated.output
    project = tmp_path / "project"
    assert answers(project)["_commit"] == "v1"
    git(project, "init", "--quiet", "-b", "main")
    commit_all(project, "Generated project")
    recorded = {key: value for key, value in answers(project).items() if not key.startswith("_")}
    reference = tmp_path / "reference"  # this release with the same answers: where may owners edit?
    copier.run_copy(str(template), reference, data=recorded, defaults=True, vcs_ref="v2", quiet=True)
    package = recorded["package_name"]
    moved = moved_files(package)
    assert all(new for new in moved.values()), "every row of the moved-files table names a new path"

    config, config_line = edit_a_config_value(project, reference, moved)
    heading = add_a_readme_section(project, reference)
    custom = project / "src" / package / "models" / "custom.py"
    custom.write_text('"""Our own model."""\n\nCUSTOM = True\n')
    edited_moved = edit_moved_files(project, reference, moved)
    present = sorted(old for old in moved if (project / old).is_file())
    assert sorted(edited_moved) == present, "each moved file this project has is edited (a comment syntax per suffix)"
    commit_all(project, "Owner: tune a config, a README section, a model, edits in files this release moves")

    result = runner.invoke(app, ["update", str(project), "--conflict", "rej"])
    assert answers(project)["_commit"] == "v2", result.output
    rejected = sorted(line.split("conflict: ", 1)[1] for line in result.output.splitlines() if "conflict: " in line)
    assert rejected == sorted(f"{old}.rej" for old in edited_moved), result.output
    assert result.exit_code == (1 if edited_moved else 0), result.output

    assert config_line in (project / config).read_text().splitlines()
    readme = (project / "README.md").read_text()
    assert heading in readme and OWNER_LINE in readme
    assert custom.read_text() == '"""Our own model."""\n\nCUSTOM = True\n'
    for old, new in edited_moved.items():
        assert not (project / old).exists() and (project / new).is_file(), (old, new)
        assert OWNER_LINE in (project / f"{old}.rej").read_text()
        assert OWNER_LINE in git(project, "show", f"HEAD:{old}")  # nothing lost: the last commit has it
        carried = carry_over(project, old, new)
        if carried.returncode == 0:
            assert OWNER_LINE in (project / new).read_text(), (new, carried.stderr)
        else:  # the template changed the end of the file too: the hunk waits in NEW.rej
            assert OWNER_LINE in (project / f"{new}.rej").read_text(), (new, carried.stderr)
    assert "git apply --reject" in (REPO_ROOT / "docs/releases.md").read_text()


def test_a_clone_without_the_previous_release_says_how_to_fetch_it(tmp_path: Path) -> None:
    """A shallow clone of mlscaffold lacks the commit; the update test then says what to run."""
    from mlscaffold.git import GitError
    from mlscaffold.releases import PREVIOUS_RELEASE, extract_previous_release

    shallow = tmp_path / "shallow"
    shallow.mkdir()
    git(shallow, "init", "--quiet", "-b", "main")
    git(shallow, "commit", "--quiet", "--allow-empty", "-m", "a clone without the release")
    with pytest.raises(GitError, match=r"not in the git history .*git fetch --unshallow"):
        extract_previous_release(shallow, tmp_path / "out")
    assert not (tmp_path / "out").exists() and len(PREVIOUS_RELEASE) == 40
