"""Warnings that point at the user's line, however deep inside symdiff they are raised."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first caller outside symdiff (counting
    frames, where a fixed ``stacklevel`` went stale whenever a call was added in between)."""
    frame, level = sys._getframe(1), 2          # 1 is this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
