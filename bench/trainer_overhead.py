"""Throughput of the generated project's ``Trainer`` against a minimal hand-written loop.

What it measures
    The default project is rendered with ``mlscaffold new <tmp>/proj --defaults`` and its
    package ``my_ml_project`` is imported from ``<tmp>/proj/src``. The same tiny MLP
    (16 features -> 32 -> 32 -> 2 classes, dropout 0) is trained on the same seeded
    synthetic data with the same DataLoader (``InMemoryDataset`` + ``keep_batch``,
    shuffle, ``num_workers=0``) in two ways:

    * ``hand``: ``for x, y in loader: zero_grad; cross_entropy; backward; AdamW.step``
      (PyTorch's default AdamW; ``--hand-fused`` gives it the fused AdamW the Trainer uses,
      which isolates the loop's own overhead from the optimizer's speed);
    * ``trainer``: ``Trainer.fit`` with the rendered project's ``configs/trainer/default.yaml``
      (AdamW target with decay/no-decay groups, warm-up + cosine schedule target,
      gradient clipping at 1.0 through ``torch.nn.utils.clip_grad_norm_``) on the CPU,
      early stopping off, and a small validation loader, so each epoch's validation,
      metrics and ``best.pt``/``last.pt`` checkpoint writes are timed too.

    Runs alternate (hand, trainer, hand, trainer, ...) for ``--rounds`` rounds of
    ``--epochs`` epochs each. Each run's throughput is optimizer steps divided by the wall
    seconds of the whole fit; the script prints the median of each and the ratio
    trainer/hand (target: >= 0.9).

How to run
    /work/venv/bin/python bench/trainer_overhead.py [--rounds 7] [--epochs 2] [--threads 1]

    Add ``--profile`` to also print a cProfile of one extra ``Trainer.fit`` run, sorted by
    cumulative time, to see where the Trainer's extra time per step goes.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.utils.data import DataLoader

PACKAGE = "my_ml_project"
FEATURES = 16
HIDDEN = (32, 32)
CLASSES = 2
SEED = 0


@dataclass(frozen=True)
class Config:
    """What one invocation measures."""

    train_rows: int
    val_rows: int
    batch_size: int
    epochs: int
    rounds: int
    threads: int


@dataclass(frozen=True)
class Project:
    """The generated package's pieces the benchmark uses."""

    in_memory: ModuleType
    loading: ModuleType
    mlp: ModuleType
    metrics: ModuleType
    trainer: ModuleType
    trainer_config: dict[str, Any]  # the rendered configs/trainer/default.yaml


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="alternating hand/trainer rounds (default 7)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2)")
    parser.add_argument("--rows", type=int, default=32768, help="training rows (default 32768)")
    parser.add_argument("--val-rows", type=int, default=512, help="validation rows (default 512)")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one extra Trainer.fit run")
    parser.add_argument(
        "--no-clip",
        action="store_true",
        help="turn the Trainer's gradient clipping off (a feature the hand loop lacks)",
    )
    parser.add_argument(
        "--hand-fused",
        action="store_true",
        help="give the hand loop fused AdamW too (the Trainer uses it), isolating the loop's own overhead",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.epochs < 1 or args.rows < args.batch_size or args.threads < 1:
        parser.error("--rounds, --epochs and --threads must be >= 1 and --rows >= --batch-size")
    return args


def render_project(destination: Path) -> Project:
    """Render the default project into ``destination`` and import its modules."""
    command = [sys.executable, "-m", "mlscaffold", "new", str(destination), "--defaults"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    sys.path.insert(0, str(destination / "src"))
    return Project(
        in_memory=importlib.import_module(f"{PACKAGE}.data.in_memory"),
        loading=importlib.import_module(f"{PACKAGE}.data.loading"),
        mlp=importlib.import_module(f"{PACKAGE}.models.mlp"),
        metrics=importlib.import_module(f"{PACKAGE}.core.metrics"),
        trainer=importlib.import_module(f"{PACKAGE}.training.trainer"),
        trainer_config=yaml.safe_load((destination / "configs" / "trainer" / "default.yaml").read_text()),
    )


def synthetic_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Gaussian features with a noisy linear (learnable) binary label."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    weights = rng.standard_normal(FEATURES).astype(np.float32)
    noise = 0.5 * rng.standard_normal(rows).astype(np.float32)
    targets = (features @ weights + noise > 0).astype(np.int64)
    return features, targets


def make_loader(project: Project, data: tuple[np.ndarray, np.ndarray], batch_size: int, *, shuffle: bool) -> DataLoader:
    """The DataLoader both loops use, built like the template's ``TabularData.loader``."""
    return DataLoader(
        project.in_memory.InMemoryDataset(*(torch.from_numpy(array) for array in data)),
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=0,
        collate_fn=project.loading.keep_batch,
        generator=torch.Generator().manual_seed(SEED),
    )


def make_model(project: Project) -> nn.Module:
    torch.manual_seed(SEED)
    model: nn.Module = project.mlp.MLP(FEATURES, CLASSES, hidden_dims=HIDDEN, dropout=0.0)
    return model


def run_hand(project: Project, train_loader: DataLoader, epochs: int, *, fused: bool = False) -> tuple[int, float]:
    """The minimal loop; returns (optimizer steps, wall seconds)."""
    model = make_model(project)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, fused=fused or None)
    model.train()
    steps = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for features, targets in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(features), targets)
            loss.backward()
            optimizer.step()
            steps += 1
    return steps, time.perf_counter() - start


CLIP_NORM: float | None = 1.0  # the template's default; --no-clip sets None


def build_trainer(project: Project, epochs: int, checkpoint_dir: Path) -> Any:
    settings = project.trainer.TrainerSettings.from_mapping(
        {
            **project.trainer_config,
            "max_epochs": epochs,
            "early_stopping_patience": None,
            "accelerator": "cpu",
            "mixed_precision": "no",
            "grad_clip_norm": CLIP_NORM,
        }
    )
    class_names = tuple(str(c) for c in range(CLASSES))

    def metric_fn(targets: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        result: dict[str, Any] = project.metrics.compute_metrics(
            "classification", targets, outputs, class_names=class_names
        )
        return result

    return project.trainer.Trainer(
        make_model(project),
        settings,
        loss_fn=project.trainer.loss_for_task("classification"),
        metric_fn=metric_fn,
        checkpoint_dir=checkpoint_dir,
        seed=SEED,
    )


def run_trainer(
    project: Project, train_loader: DataLoader, val_loader: DataLoader, epochs: int, checkpoint_dir: Path
) -> tuple[int, float, float]:
    """``Trainer.fit`` (validation and checkpoints included).

    Returns (optimizer steps, wall seconds, last epoch's validation accuracy).
    """
    trainer = build_trainer(project, epochs, checkpoint_dir)
    start = time.perf_counter()
    result = trainer.fit(train_loader, val_loader)
    elapsed = time.perf_counter() - start
    return int(result.global_step), elapsed, float(result.history[-1]["val_accuracy"])


def profile_trainer(
    project: Project, train_loader: DataLoader, val_loader: DataLoader, epochs: int, checkpoint_dir: Path
) -> str:
    trainer = build_trainer(project, epochs, checkpoint_dir)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.fit(train_loader, val_loader)
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(40)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = Config(
        train_rows=args.rows,
        val_rows=args.val_rows,
        batch_size=args.batch_size,
        epochs=args.epochs,
        rounds=args.rounds,
        threads=args.threads,
    )
    torch.set_num_threads(config.threads)
    global CLIP_NORM
    CLIP_NORM = None if args.no_clip else CLIP_NORM
    with tempfile.TemporaryDirectory(prefix="mlscaffold-bench-") as tmp:
        root = Path(tmp)
        project = render_project(root / "proj")
        # One draw, split in two, so validation rows share the training rows' labelling rule.
        features, targets = synthetic_data(config.train_rows + config.val_rows, SEED)
        train_data = (features[: config.train_rows], targets[: config.train_rows])
        val_data = (features[config.train_rows :], targets[config.train_rows :])
        train_loader = make_loader(project, train_data, config.batch_size, shuffle=True)
        val_loader = make_loader(project, val_data, 512, shuffle=False)
        steps_per_epoch = len(train_loader)

        print(
            f"config: rows={config.train_rows} val_rows={config.val_rows} batch={config.batch_size} "
            f"steps/epoch={steps_per_epoch} epochs={config.epochs} rounds={config.rounds} "
            f"threads={torch.get_num_threads()} torch={torch.__version__} python={sys.version.split()[0]}"
        )
        print(f"model: MLP({FEATURES} -> {' -> '.join(map(str, HIDDEN))} -> {CLASSES}), dropout 0")
        print(f"trainer gradient clipping: {CLIP_NORM}")
        print(f"hand loop optimizer: AdamW ({'fused' if args.hand_fused else 'default implementation'})")

        # One unmeasured short run of each, so first-call costs (lazy imports, allocator
        # warm-up, sklearn import inside metrics) land in neither median.
        run_hand(project, train_loader, 1)
        run_trainer(project, train_loader, val_loader, 1, root / "ckpt-warmup")

        hand_rates: list[float] = []
        trainer_rates: list[float] = []
        accuracy = float("nan")
        for round_index in range(config.rounds):
            steps, seconds = run_hand(project, train_loader, config.epochs, fused=args.hand_fused)
            hand_rates.append(steps / seconds)
            steps, seconds, accuracy = run_trainer(
                project, train_loader, val_loader, config.epochs, root / f"ckpt-{round_index}"
            )
            trainer_rates.append(steps / seconds)
            print(
                f"round {round_index + 1}/{config.rounds}: hand {hand_rates[-1]:8.1f} steps/s   "
                f"trainer {trainer_rates[-1]:8.1f} steps/s"
            )

        hand = statistics.median(hand_rates)
        trainer = statistics.median(trainer_rates)
        ratio = trainer / hand
        print(f"median hand:    {hand:8.1f} steps/s ({1e3 / hand:.3f} ms/step)")
        print(f"median trainer: {trainer:8.1f} steps/s ({1e3 / trainer:.3f} ms/step)")
        print(f"trainer overhead: {1e3 / trainer - 1e3 / hand:+.3f} ms/step; last val accuracy {accuracy:.3f}")
        print(f"ratio trainer/hand: {ratio:.3f} (target >= 0.9: {'PASS' if ratio >= 0.9 else 'FAIL'})")

        if args.profile:
            print(profile_trainer(project, train_loader, val_loader, config.epochs, root / "ckpt-profile"))


if __name__ == "__main__":
    main()
