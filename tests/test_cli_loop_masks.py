"""`edgefill run --loop` with a per-frame mask video: the masks start again with the frames (mask i
for frame i of every pass); it stopped at frame 48 with "mask video ... ended" and a partial
video. And `inpaint --invert-mask --dilate N` gives only the advice for an inverted mask."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edgefill.cli import main


def test_run_loop_with_a_mask_video_goes_past_the_first_pass(tmp_path, capsys):
    out = tmp_path / "loop.mp4"
    code = main(["run", "samples/clip.mp4", "--mask", "samples/clip_mask.mp4", "--loop", "--max-frames", "60",
                 "--backend", "opencv-telea", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert n == 60 and not list(tmp_path.glob("*partial*"))


def test_inpaint_invert_and_dilate_gives_only_the_inverted_advice(tmp_path, caplog):
    img = np.full((64, 64, 3), 120, np.uint8)
    keep = np.zeros((64, 64), np.uint8)  # "keep nothing": inverted, the hole is the whole image
    cv2.imwrite(str(tmp_path / "i.png"), img)
    cv2.imwrite(str(tmp_path / "k.png"), keep)
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(tmp_path / "i.png"), "--mask", str(tmp_path / "k.png"), "--invert-mask",
                     "--dilate", "2", "--backend", "opencv-telea", "-o", str(tmp_path / "o.png")]) == 0
    advice = [r.getMessage() for r in caplog.records if "of the image as hole" in r.getMessage()]
    assert advice and all("leave the inversion out" in a for a in advice), advice
