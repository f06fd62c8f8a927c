// Package scoring holds the pure scoring functions of srarena: image decoding
// and quantisation, PSNR and SSIM exactly as the official AIM 2020 / NTIRE
// efficient-SR scripts compute them, file pairing, MATLAB-compatible bicubic
// downscaling, ranking rule sets and correlation statistics. It imports none
// of srarena's packages, no database and no ONNX Runtime.
//
// The reference for every formula is design/protocol.md (§ numbers below).
//
// # Images and metrics
//
//	type Image struct{ W, H int; Pix []uint8 }          // 8-bit RGB, interleaved
//	DecodePNG(r) / ReadPNG(path) / EncodePNG(w, img) / WritePNG(path, img)
//	ModCrop(img, scale)                                   // KAIR modcrop (§1.3)
//	ToCHW(img), ToCHWRange(img, dataRange)                // model input (§1.1)
//	QuantizeCHW(data, h, w, dataRange)                    // model output (§1.2)
//	PSNR(sr, hr, border)                                  // RGB, peak 255 (§1.4)
//	PSNRY(sr, hr, border), PSNRYUnrounded                 // Y (MATLAB rgb2ycbcr)
//	SSIM(sr, hr, border)                                  // MATLAB/KAIR SSIM (§1.5)
//	Mean(values)                                          // set score
//	PairByName(lrNames, hrNames)                          // "0801x4.png" ↔ "0801.png"
//
// Edge cases have defined answers: identical images give PSNR +Inf and SSIM
// exactly 1; different sizes give ErrSizeMismatch; nothing left inside the
// border (or less than 11×11 for SSIM) gives ErrEmpty.
package scoring
