"""Sharing on the Hub: model cards, export, push."""

from .cards import (
    CARD_FILENAME,
    EVAL_RESULTS_FILENAME,
    available_templates,
    collect_card_context,
    detect_family,
    render_model_card,
    write_model_card,
)
from .export import export_folder, find_training_components, upgrade_folder
from .push import DEFAULT_IGNORE_PATTERNS, PushError, cli_card, cli_push, layout_problems, push_folder, retry_command

__all__ = [
    "CARD_FILENAME",
    "DEFAULT_IGNORE_PATTERNS",
    "EVAL_RESULTS_FILENAME",
    "PushError",
    "available_templates",
    "cli_card",
    "cli_push",
    "collect_card_context",
    "detect_family",
    "export_folder",
    "find_training_components",
    "layout_problems",
    "push_folder",
    "render_model_card",
    "retry_command",
    "upgrade_folder",
    "write_model_card",
]
