"""Generators from (seed, *streams): reproducible and independent."""

from avaloc.seeding import numpy_generator, torch_generator


def test_same_streams_same_draws_different_streams_differ():
    import torch

    a = torch.rand(4, generator=torch_generator(1, 2, 3))
    b = torch.rand(4, generator=torch_generator(1, 2, 3))
    c = torch.rand(4, generator=torch_generator(1, 2, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    x = numpy_generator(5, 0).random(3)
    assert (x == numpy_generator(5, 0).random(3)).all()
    assert (x != numpy_generator(5, 1).random(3)).all()
