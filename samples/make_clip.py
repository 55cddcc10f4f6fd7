"""Regenerate the demo clip: a slow pan over coffee.png with a ball bouncing across the
table, and the matching per-frame mask video (255 = the ball, to remove).

    python samples/make_clip.py   # writes samples/clip.mp4 and samples/clip_mask.mp4
"""

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
W, H, FRAMES, FPS = 480, 320, 48, 16


def main() -> None:
    scene = cv2.imread(str(HERE / "coffee.png"))
    video = cv2.VideoWriter(str(HERE / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    masks = cv2.VideoWriter(str(HERE / "clip_mask.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H), False)
    for i in range(FRAMES):
        t = i / (FRAMES - 1)
        x0, y0 = int(round(t * (scene.shape[1] - W))), int(round(0.5 * t * (scene.shape[0] - H)))
        frame = scene[y0 : y0 + H, x0 : x0 + W].copy()
        cx = int(40 + t * (W - 80))
        cy = int(H - 60 - 140 * abs(np.sin(3 * np.pi * t)))
        mask = np.zeros((H, W), np.uint8)
        cv2.circle(mask, (cx, cy), 22, 255, -1)
        shade = np.zeros_like(frame)
        cv2.circle(shade, (cx, cy), 22, (60, 170, 230), -1)  # an orange ball
        cv2.circle(shade, (cx - 7, cy - 7), 6, (200, 235, 255), -1)  # with a highlight
        frame[mask > 0] = shade[mask > 0]
        video.write(frame)
        masks.write(mask)
    video.release()
    masks.release()


if __name__ == "__main__":
    main()
