"""The course's own numbers on the real names.txt (weeks 11-12), through the dataset registry.

The real file is registered from ../shared/data/ with `grader.data.add` (which checks its
sha256) into a temporary cache, read back with `grader.data.resolve("names", "real")`, and fed
to the functions of the REFERENCE solutions (the code of their solution cells). The expected
values are those of the course text and of the exercise notes (weeks 11-15, W11-4/8/11 and
W12-1/5). Skipped when the shared data folder is absent (a fresh clone).
"""
from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest

from grader import data

from .helpers import ROOT

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "names.txt"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not REAL.is_file(), reason=f"the real names.txt is not at {REAL} "
                                "(../shared/data/ exists only on the course's own machines)")]


def _solution_namespace(exercise: str) -> dict:
    """Run the code of the reference notebook's solution cells (definitions only) in a namespace."""
    import torch
    import torch.nn.functional as F
    nb = nbformat.read(ROOT / "solutions" / f"{exercise}.ipynb", as_version=4)
    ns: dict = {"torch": torch, "F": F, "math": math}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, f"<{exercise}:{cell.metadata['nbgrader']['grade_id']}>", "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def real_words(tmp_path_factory) -> list[str]:
    cache = tmp_path_factory.mktemp("grader-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_DATA_DIR", str(cache))
        data.add("names", REAL)                      # checks the registered sha256
        path = data.resolve("names", "real")         # the registry's cache path
        assert path == cache / "real" / "names.txt"
        return path.read_text(encoding="ascii").splitlines()


@pytest.fixture(scope="module")
def week11() -> dict:
    return _solution_namespace("week11_bigram_counts")


@pytest.fixture(scope="module")
def counted(real_words, week11):
    """(stoi, itos, N) of the reference solution on the real names."""
    stoi, itos = week11["build_vocab"](real_words)
    return stoi, itos, week11["count_bigrams"](real_words, stoi)


def test_counts_on_real_names(real_words, week11, counted):
    stoi, _, N = counted
    assert len(real_words) == 32033
    assert stoi["."] == 0 and stoi["a"] == 1 and stoi["z"] == 26 and len(stoi) == 27
    assert int(N.sum()) == 228146, "the course's 228,146 bigrams"
    assert int(N[0].sum()) == 32033 and int(N[0, 0]) == 0
    assert int((N == 0).sum()) == 102
    assert int(N.max()) == 6763 and int(N[stoi["n"], 0]) == 6763, "the most frequent bigram is 'n.'"
    N28 = week11["count_bigrams_28"](real_words)
    assert not N28[27].any() and not N28[:, 26].any(), "row <E> and column <S> are all zeros"


def test_nll_on_real_names(real_words, week11, counted):
    stoi, _, N = counted
    nll, to_probs = week11["nll"], week11["counts_to_probs"]
    unsmoothed = nll(to_probs(N, 0), real_words, stoi)
    smoothed = nll(to_probs(N, 1), real_words, stoi)
    assert abs(unsmoothed - 2.4540) < 1e-3, f"average NLL without smoothing: expected 2.4540, got {unsmoothed:.6f}"
    assert abs(smoothed - 2.4546) < 1e-3, f"average NLL with +1 smoothing: expected 2.4546, got {smoothed:.6f}"
    assert abs(nll(to_probs(N, 0), real_words[:3], stoi) - 2.4241) < 1e-3, "emma, olivia, ava: NLL 2.4241"
    assert nll(to_probs(N, 0), ["jqaguar"], stoi) == math.inf, "'jq' never occurs: infinite NLL"
    assert abs(nll(to_probs(N, 1), ["jqaguar"], stoi) - 3.697) < 1e-3, "with +1 smoothing: 3.697"
    big = nll(to_probs(N, 1000), real_words, stoi)
    assert abs(big - 2.8523) < 1e-3 and big < math.log(27), "1000 fake counts: 2.8523, towards ln 27"


@pytest.mark.skipif(not __import__("torch").__version__.startswith(("2.13.", "2.14.")),
                    reason="seeded torch.multinomial streams are pinned to torch 2.13/2.14 on CPU")
def test_sampled_names_on_real_names(week11, counted):
    import torch
    _, itos, N = counted
    expected = ["cexze", "momasurailezitynn", "konimittain", "llayn", "ka", "da",
                "staiyaubrtthrigotai", "moliellavo", "ke", "teda"]
    for k in (0, 1):
        g = torch.Generator().manual_seed(2147483647)
        P = week11["counts_to_probs"](N, k)
        got = [week11["sample_name"](P, itos, g) for _ in range(10)]
        assert got == [name + "." for name in expected], (k, got)


def test_bigram_network_on_real_names(real_words, counted):
    import torch
    week12 = _solution_namespace("week12_bigram_nn")
    stoi, _, _ = counted
    xs, ys = week12["make_bigram_xy"](real_words, stoi)
    assert xs.numel() == ys.numel() == 228146
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(2147483647), requires_grad=True)
    losses = week12["train_bigram"](xs, ys, W, 1, 50.0, 0.01)
    assert abs(losses[0] - 3.7686) < 1e-3, f"initial loss with seed 2147483647: expected 3.7686, got {losses[0]:.6f}"
