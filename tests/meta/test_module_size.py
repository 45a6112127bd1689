"""Small modules: none in core/ or plugins/ over 500 lines; over 300 is reported as a warning."""

import warnings

HARD_LIMIT = 500
SOFT_LIMIT = 300


class ModuleSizeWarning(UserWarning):
    """A module is over the soft size limit: consider splitting it by what it owns."""


def _sizes(source_tree) -> list[tuple[str, int]]:
    return sorted((module.relpath, len(module.text.splitlines())) for module in source_tree.modules.values())


def test_no_module_over_hard_limit(source_tree):
    too_big = [f"{path}: {lines} lines" for path, lines in _sizes(source_tree) if lines > HARD_LIMIT]
    assert not too_big, f"modules over {HARD_LIMIT} lines:\n" + "\n".join(too_big)


def test_report_modules_over_soft_limit(source_tree):
    """Warning only: the soft limit is a nudge, not a rule."""
    for path, lines in _sizes(source_tree):
        if SOFT_LIMIT < lines <= HARD_LIMIT:
            message = f"{path} has {lines} lines (soft limit {SOFT_LIMIT})"
            warnings.warn(message, ModuleSizeWarning, stacklevel=1)
