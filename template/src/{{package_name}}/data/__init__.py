"""Data: reading tables, the built-in demo data, preprocessing and DataLoaders."""

from .dataset import TabularData, TabularDataset, build_tabular_data
from .demo import generate_demo_table
from .preprocessing import TabularPreprocessor

__all__ = [
    "TabularData",
    "TabularDataset",
    "TabularPreprocessor",
    "build_tabular_data",
    "generate_demo_table",
]
