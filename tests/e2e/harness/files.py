"""Temporary files for the end-to-end tests."""

import os
import tempfile


def write_config(testcase, text):
    """A temporary .toml file holding `text`, removed when the test ends; returns its path."""
    f = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    f.write(text)
    f.close()
    testcase.addCleanup(os.unlink, f.name)
    return f.name
