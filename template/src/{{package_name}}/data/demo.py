"""Built-in demo data: a synthetic credit-approval table generated from a seed.

It exists so that every stage runs on a fresh machine without downloads. It is learnable
(the label follows a noisy non-linear function of the features, so a small MLP reaches
about 0.85 test accuracy) and carries ``sex`` and ``age_group`` columns that describe
people, so fairness checks have groups to compare. Income differs slightly between the
``sex`` groups, a mild, deliberate disparity the fairness report can surface.

Run ``python -m <package>.data.demo out.csv`` to write it to a file and see the format
your own data should follow.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

EMPLOYMENT_TYPES = ("salaried", "self_employed", "unemployed", "retired")
REGIONS = ("north", "south", "east", "west")


def _standardise(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


def generate_demo_table(num_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Return the demo table; the same ``num_rows`` and ``seed`` always give the same rows.

    Columns: numeric ``age``, ``income_k``, ``debt_ratio``, ``credit_history_years``,
    ``late_payments``; categorical ``employment``, ``region``; sensitive ``sex``,
    ``age_group``; targets ``approved`` ("yes"/"no", classification) and
    ``credit_limit_k`` (regression).
    """
    if num_rows < 20:
        raise ValueError(f"the demo table needs at least 20 rows, got {num_rows}")
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["female", "male"]), size=num_rows)
    age = rng.integers(18, 76, size=num_rows)
    employment = rng.choice(np.array(EMPLOYMENT_TYPES), size=num_rows, p=[0.6, 0.2, 0.08, 0.12])
    region = rng.choice(np.array(REGIONS), size=num_rows)
    income_k = rng.lognormal(mean=3.9, sigma=0.45, size=num_rows) * np.where(sex == "male", 1.08, 1.0)
    income_k *= np.select([employment == "unemployed", employment == "retired"], [0.35, 0.7], 1.0)
    debt_ratio = rng.beta(2.0, 5.0, size=num_rows)
    credit_history_years = np.clip(age - 18 - rng.integers(0, 10, size=num_rows), 0, None)
    late_payments = rng.poisson(lam=np.where(debt_ratio > 0.4, 1.6, 0.6))

    employment_effect = np.select(
        [employment == "salaried", employment == "self_employed", employment == "unemployed"],
        [0.5, 0.0, -1.5],
        -0.2,
    )
    log_income = _standardise(np.log(income_k))
    debt = _standardise(debt_ratio)
    score = (
        1.6 * log_income
        - 1.8 * debt
        + 0.7 * _standardise(np.sqrt(credit_history_years))
        - 0.9 * late_payments
        + employment_effect
        - 0.8 * np.clip(log_income, 0, None) * np.clip(debt, 0, None)  # rich but indebted
        + 0.6
    )
    approval_probability = 1.0 / (1.0 + np.exp(-2.2 * score))
    approved = np.where(rng.random(num_rows) < approval_probability, "yes", "no")
    credit_limit_k = np.clip(
        2.0
        + 0.12 * income_k * (1.0 - debt_ratio)
        + 0.15 * credit_history_years
        - 0.8 * late_payments
        + rng.normal(0.0, 0.8, size=num_rows),
        0.0,
        None,
    )
    age_group = np.select([age < 30, age < 50], ["18-29", "30-49"], "50+")
    return pd.DataFrame(
        {
            "age": age,
            "income_k": income_k.round(2),
            "debt_ratio": debt_ratio.round(4),
            "credit_history_years": credit_history_years,
            "late_payments": late_payments,
            "employment": employment,
            "region": region,
            "sex": sex,
            "age_group": age_group,
            "approved": approved,
            "credit_limit_k": credit_limit_k.round(2),
        }
    )


def main(argv: list[str] | None = None) -> None:
    """Write the demo table to the CSV or Parquet file named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m <package>.data.demo OUTPUT.csv|OUTPUT.parquet")
    output = Path(args[0])
    table = generate_demo_table()
    if output.suffix == ".parquet":
        table.to_parquet(output, index=False)
    else:
        table.to_csv(output, index=False)
    print(f"wrote {len(table)} rows to {output}")


if __name__ == "__main__":
    main()
