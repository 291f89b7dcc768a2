"""``mixlaw pipeline --default`` reads a mixture as every other mixture option does (mixlaw.export.parse_mixture):
quoted names holding ',' and percentages. It had the trainer's parser, which split '"web, news"=0.5' at its comma
and refused '60%'."""

import numpy as np
import pytest

from mixlaw.cli._common import parse_default
from mixlaw.errors import InputError

DOMAINS = ["web, news", "code", "math"]
MIXTURES = np.array([[0.5, 0.3, 0.2], [0.2, 0.4, 0.4]])


def test_quoted_name_and_percentages():
    got = parse_default('"web, news"=60%,code=40%', DOMAINS, MIXTURES)
    assert np.allclose(got, [0.6, 0.4, 0.0])


def test_plain_spec_and_keywords_unchanged():
    assert np.allclose(parse_default("code=0.25,math=0.75", DOMAINS, MIXTURES), [0.0, 0.25, 0.75])
    assert np.allclose(parse_default("mean", DOMAINS, MIXTURES), MIXTURES.mean(axis=0))
    assert np.allclose(parse_default("uniform", DOMAINS, MIXTURES), [1 / 3] * 3)


@pytest.mark.parametrize(("spec", "words"), [
    ("code=-0.5,math=1.5", "finite number >= 0"),
    ("code=nan,math=1", "finite number >= 0"),
    ("code=0.5,books=0.5", "unknown domain"),
    ("code=0.3,math=0.3", "sum to 0.6"),
    ('"web, news=0.5,code=0.5', "--default"),
])
def test_bad_default_names_the_option(spec, words):
    with pytest.raises(InputError, match="--default") as e:
        parse_default(spec, DOMAINS, MIXTURES)
    assert words in str(e.value)
