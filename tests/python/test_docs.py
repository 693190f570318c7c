"""The Examples sections of the public docstrings run and give what they show."""

import doctest

import pytest
import twinpurify.estimator
import twinpurify.pl


@pytest.mark.parametrize("module", [twinpurify.estimator, twinpurify.pl], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
