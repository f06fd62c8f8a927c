#!/usr/bin/python3
"""Time the official PSNR formula (KAIR/NTIRE utils_image.calculate_psnr) in
numpy on a 2040x1356 RGB uint8 pair, border 4, to compare with
`go test -bench PSNR ./scoring/`. Usage: /usr/bin/python3 bench/psnr_numpy.py
"""
import math
import timeit

import numpy as np


def calculate_psnr(img1, img2, border=0):
    # Verbatim formula of KAIR utils_image.py / NTIRE test_demo utils.
    h, w = img1.shape[:2]
    img1 = img1[border:h - border, border:w - border]
    img2 = img2[border:h - border, border:w - border]
    img1 = img1.astype(np.float64)
    img2 = img2.astype(np.float64)
    mse = np.mean((img1 - img2) ** 2)
    if mse == 0:
        return float('inf')
    return 20 * math.log10(255.0 / math.sqrt(mse))


def main():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, size=(1356, 2040, 3), dtype=np.uint8)
    b = (a.astype(np.int16) + rng.integers(-3, 4, size=a.shape)).astype(np.uint8)
    n = 20
    best = min(timeit.repeat(lambda: calculate_psnr(a, b, 4), number=n, repeat=5)) / n
    print(f"numpy {np.__version__}: calculate_psnr 2040x1356 border 4: {best * 1e3:.2f} ms/op "
          f"(best of 5x{n}), psnr={calculate_psnr(a, b, 4):.4f}")


if __name__ == "__main__":
    main()
