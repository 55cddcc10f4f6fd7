import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.losses import PatchDiscriminator, gradient_l1, hinge_d, hinge_g, ssim_loss, ssim_map  # noqa: E402


def _pair():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    hole = torch.zeros(2, 1, 32, 32)
    hole[..., 8:24, 8:24] = 1
    return target, hole


def test_gradient_loss_is_zero_for_the_target_and_positive_for_a_blur():
    target, hole = _pair()
    assert gradient_l1(target, target, hole).item() == 0
    blurred = torch.nn.functional.avg_pool2d(target, 3, 1, 1)
    assert gradient_l1(blurred, target, hole).item() > 0.05


def test_gradient_loss_ignores_pixels_far_from_the_hole():
    target, hole = _pair()
    changed = target.clone()
    changed[..., :4, :4] += 1  # far from the hole
    assert gradient_l1(changed, target, hole).item() == 0


def test_ssim_is_one_for_identical_images_and_loss_grows_with_noise():
    target, hole = _pair()
    assert torch.allclose(ssim_map(target, target), torch.ones(1), atol=1e-5)
    noisy = target + 0.3 * torch.randn_like(target)
    assert ssim_loss(noisy, target, hole).item() > ssim_loss(target, target, hole).item() + 0.1


def test_patch_discriminator_gives_a_map_and_hinge_losses():
    d = PatchDiscriminator(width=8)
    target, hole = _pair()
    logits = d(target, hole)
    assert logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[-1] > 1
    assert hinge_d(torch.full((1,), 2.0), torch.full((1,), -2.0)).item() == 0
    assert hinge_g(torch.full((1,), 3.0)).item() == -3


def test_hole_norm_weighs_every_image_hole_alike():
    """--hole-norm: the hole L1 is each image's mean error over its hole, whatever the hole's size;
    without it the term grows with the hole's area."""
    from edgefill_export.train import TrainConfig, loss_fn

    target = torch.zeros(2, 3, 32, 32)
    pred = torch.full_like(target, 0.5)  # the same error everywhere
    valid = torch.ones(2, 1, 32, 32)
    valid[0, :, 10:12, :] = 0  # a thin scratch: 64 px
    valid[1, :, 4:28, 4:28] = 0  # a large box: 576 px
    area = (1 - valid).mean().item()
    plain = loss_fn(pred, target, valid, TrainConfig())["hole"].item()
    normed = loss_fn(pred, target, valid, TrainConfig(hole_norm=True))["hole"].item()
    assert plain == pytest.approx(0.5 * area)
    assert normed == pytest.approx(0.5)
    # per image: the scratch image alone scores the same as the box image alone
    one = [loss_fn(pred[i : i + 1], target[i : i + 1], valid[i : i + 1], TrainConfig(hole_norm=True))["hole"].item()
           for i in (0, 1)]
    assert one[0] == pytest.approx(one[1])


def test_hole_mse_is_the_squared_error_on_hole_pixels_only_and_enters_the_total():
    from edgefill_export.train import TrainConfig, loss_fn

    target, hole = _pair()
    valid = 1 - hole
    pred = target.clone()
    pred[:, :, 8:24, 8:24] += 0.2  # in the hole
    pred[:, :, 0:4, :] -= 0.5  # outside it: not counted
    base = loss_fn(pred, target, valid, TrainConfig())
    assert "hole_mse" not in base
    out = loss_fn(pred, target, valid, TrainConfig(hole_mse_weight=30.0))
    expect = 0.04 * hole.mean().item()  # 0.2^2 on the hole's share of the pixels
    assert out["hole_mse"].item() == pytest.approx(expect, rel=1e-5)
    assert (out["loss"] - base["loss"]).item() == pytest.approx(30.0 * expect, rel=1e-4)


def test_hole_error_db_is_each_images_hole_error_in_db():
    from edgefill_export.losses import DB_FLOOR, hole_error_db

    _, hole = _pair()
    err = torch.zeros(2, 3, 32, 32)
    err[0] = 0.1 * hole[0]  # every hole pixel of image 0 off by 0.1
    err[1] = 0.4 * hole[1]
    err[..., :4, :4] = 5.0  # outside the hole: ignored
    got = hole_error_db(err, hole)
    want = 10 * torch.log10(torch.tensor([0.01, 0.16]) + DB_FLOOR)
    torch.testing.assert_close(got, want)


def test_hole_error_db_weights_each_image_by_its_own_error():
    """Unlike a pooled squared error, the mean in dB moves the well-filled image as much as the
    badly filled one (relative to their errors): the per-pixel gradient scales as 1 / error."""
    from edgefill_export.losses import hole_error_db

    _, hole = _pair()
    err = (torch.stack([0.05 * hole[0], 0.5 * hole[1]])).requires_grad_()
    hole_error_db(err, hole).mean().backward()
    g = err.grad[..., 16, 16].mean(dim=1)
    assert g[0] > 5 * g[1] > 0  # 10x smaller error, 10x larger gradient per pixel
    pooled = err.detach().clone().requires_grad_()
    (pooled**2 * hole).mean().backward()
    p = pooled.grad[..., 16, 16].mean(dim=1)
    assert p[1] > 5 * p[0] > 0  # the pooled squared error: the other way round


def test_ssim_of_bfloat16_images_is_computed_in_float32():
    """bfloat16 inputs (a model's output under autocast) gave an SSIM map from -12 to 14 on a smooth
    patch: its variances are differences of nearly equal bfloat16 means of squares."""
    torch.manual_seed(0)
    target = 0.9 + 0.02 * torch.rand(1, 3, 64, 64)
    pred = 0.9 + 0.02 * torch.rand(1, 3, 64, 64)
    hole = torch.ones(1, 1, 64, 64)
    s = ssim_map(pred.bfloat16(), target.bfloat16())
    assert s.dtype == torch.float32 and s.min() > 0.9 and s.max() <= 1.0
    exact = ssim_loss(pred, target, hole).item()
    assert ssim_loss(pred.bfloat16(), target.bfloat16(), hole.bfloat16()).item() == pytest.approx(exact, abs=0.005)


def test_ssim_loss_of_a_batch_without_holes_is_zero_like_the_other_hole_losses():
    target, _ = _pair()
    no_hole = torch.zeros(2, 1, 32, 32)
    assert ssim_loss(target + 0.3, target, no_hole).item() == 0  # was 1: the worst score, for nothing to fill
    assert gradient_l1(target + 0.3, target, no_hole).item() == 0
