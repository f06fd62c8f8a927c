# Independent numpy cross-check for TestGoldenSet5 (not run by the tests).
# Usage: /usr/bin/python3 scoring/testdata/golden_set5.py
import zlib, struct, sys, math
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

def read_png(path):
    data = open(path,'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos = 8; idat = b''; 
    while pos < len(data):
        ln, = struct.unpack('>I', data[pos:pos+4]); typ = data[pos+4:pos+8]; body = data[pos+8:pos+8+ln]; pos += 12+ln
        if typ == b'IHDR':
            w,h,bd,ct,cm,fm,il = struct.unpack('>IIBBBBB', body)
        elif typ == b'IDAT': idat += body
    assert bd == 8 and il == 0, (bd, il)
    ch = {0:1, 2:3, 6:4, 4:2}[ct]
    raw = zlib.decompress(idat); stride = w*ch
    out = np.zeros((h, stride), np.uint8); prev = np.zeros(stride, np.int32)
    p = 0
    for y in range(h):
        f = raw[p]; line = np.frombuffer(raw[p+1:p+1+stride], np.uint8).astype(np.int32); p += 1+stride
        cur = np.zeros(stride, np.int32)
        if f == 0: cur = line
        elif f == 2: cur = (line + prev) & 255
        else:
            for i in range(stride):
                a = cur[i-ch] if i >= ch else 0; b = prev[i]; c = prev[i-ch] if i >= ch else 0
                if f == 1: pr = a
                elif f == 3: pr = (a+b)//2
                else:
                    pa, pb, pc = abs(b-c), abs(a-c), abs(a+b-2*c)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (line[i] + pr) & 255
        out[y] = cur; prev = cur
    img = out.reshape(h, w, ch)
    if ch == 1: img = np.repeat(img, 3, 2)
    return img[:, :, :3]

def psnr(a, b, border):
    h, w = a.shape[:2]
    a = a[border:h-border, border:w-border].astype(np.float64); b = b[border:h-border, border:w-border].astype(np.float64)
    mse = np.mean((a-b)**2)
    return float('inf') if mse == 0 else 20*math.log10(255.0/math.sqrt(mse))

def ycc(img):
    return np.round(np.dot(img.astype(np.float32), [65.481, 128.553, 24.966]) / 255.0 + 16.0)

def ssim2(a, b):
    C1 = (0.01*255)**2; C2 = (0.03*255)**2
    x = np.arange(11) - 5; g = np.exp(-x*x/(2*1.5*1.5)); g /= g.sum(); win = np.outer(g, g)
    a = a.astype(np.float64); b = b.astype(np.float64)
    f = lambda m: np.einsum('ijkl,kl->ij', sliding_window_view(m, (11, 11)), win)
    mu1, mu2 = f(a), f(b)
    s1 = f(a*a) - mu1**2; s2 = f(b*b) - mu2**2; s12 = f(a*b) - mu1*mu2
    m = ((2*mu1*mu2 + C1)*(2*s12 + C2))/((mu1**2 + mu2**2 + C1)*(s1 + s2 + C2))
    return m.mean()

def ssim(a, b, border):
    h, w = a.shape[:2]
    a = a[border:h-border, border:w-border]; b = b[border:h-border, border:w-border]
    if a.ndim == 2: return ssim2(a, b)
    return np.mean([ssim2(a[:,:,i], b[:,:,i]) for i in range(3)])

d = '/work/shared/fixtures/images/Set5/'
for n in ['baby', 'bird', 'butterfly', 'head', 'woman']:
    hr = read_png(d+'HR/'+n+'.png'); lr = read_png(d+'LR_bicubic_X4/'+n+'x4.png')
    hr = hr[:hr.shape[0]//4*4, :hr.shape[1]//4*4]
    sr = np.repeat(np.repeat(lr, 4, 0), 4, 1)
    print('%s %.12f %.12f %.12f %.12f' % (n, psnr(sr, hr, 4), ssim(sr, hr, 4), psnr(ycc(sr), ycc(hr), 4), ssim(ycc(sr), ycc(hr), 4)))
