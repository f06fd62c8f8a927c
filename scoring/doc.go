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
//	ModCrop(img, scale), Crop(img, x, y, w, h)            // KAIR modcrop (§1.3)
//	ToCHW(img), ToCHWRange(img, dataRange)                // model input (§1.1)
//	QuantizeCHW(data, h, w, dataRange)                    // model output (§1.2)
//	QuantizeCHWInto(dst, data, h, w, dataRange)           // the same, checked for NaN/Inf, every core
//	PSNR(sr, hr, border)                                  // RGB, peak 255 (§1.4)
//	PSNRY, PSNRYUnrounded, SSIMY, Y(img, round)           // Y (MATLAB rgb2ycbcr)
//	SSIM(sr, hr, border)                                  // MATLAB/KAIR SSIM (§1.5)
//	Mean(values)                                          // set score
//	PairByName(lrNames, hrNames)                          // "0801x4.png" ↔ "0801.png"
//	ListPNGs(dir), ScoreDirs(srDir, hrDir, ScoreOptions)  // `srarena score`
//	ResizeBicubic(img, factor)                            // MATLAB imresize, `srarena resize`
//
// PSNR, PSNR-Y, SSIM and QuantizeCHWInto split the image into row bands on
// every core (the runner scores only while no timed inference runs) and
// give exactly the serial results: integer sums (PSNR and PSNR-Y rows with
// AVX2 where the CPU has it), and SSIM rows summed in one fixed order, each
// map row in 8 interleaved partial sums combined pairwise (like numpy's
// pairwise sum), rows top to bottom. SSIM's kernels (fir_amd64.s: RGB
// filtered as one interleaved row, the vertical pass fused with the
// formula, two map rows at a time) run 8 values at a time with AVX-512 or
// 4 with AVX, with the same operations in the same order as their pure-Go
// twins (fir.go; no FMA anywhere), so every path, core count and GOARCH
// gives the same bits.
//
// Edge cases have defined answers: identical images give PSNR +Inf (null in
// JSON, see JSONFloat) and SSIM exactly 1; different sizes give
// ErrSizeMismatch; nothing left inside the border (or less than 11×11 for
// SSIM) gives ErrEmpty; a NaN model output quantises to 0.
//
// ResizeBicubic reproduces MATLAB imresize(uint8, 1/4, 'bicubic'): the shipped
// Set5 LR_bicubic_X4 PNGs come back bit for bit, which needs rounding to uint8
// after each one-dimensional pass (rounding only at the end differs in ~10 %
// of the values by 1).
//
// # Ranking
//
// A rule set is data (Rules, JSON-serialisable): PSNR gates, baseline values,
// and tracks, each a method over metric terms:
//
//	MethodValue     one metric, ascending (runtime main track)
//	MethodRankSum   Σ weight·rank(metric), ranked ascending (NTIRE 2022/23)
//	MethodExpScore  Σ weight·exp(2·x/x_baseline), ascending (NTIRE 2024–26)
//
// Ties share the rank (standard competition 1,1,3) unless the track lists
// TieBreak keys: a metric, "track:NAME" or "submitted_at" (earlier first).
// Missing/NaN values rank last; a gate failure or a baseline row is shown
// unranked with Ranked.Unranked saying why.
//
//	Preset(name) (Rules, bool); PresetNames()  // aim2020, ntire2022 … ntire2026
//	Rank(rules, baseline, entries) ([]Ranked, error)
//	ReadResultsCSV(r) (*Results, error); (*Results).Entries()
//	RankResults(table, rules, baseline)        // `srarena rank`
//
// Metric keys (Metric* constants): psnr_val, psnr_test, runtime_ms,
// runtime_val_ms, runtime_test_ms, params (M), flops (G), activations (M),
// memory (MiB), conv_layers.
//
// The published NTIRE 2023 table (design/data/ntire2023_esr_results.csv) is
// reproduced row for row by the ntire2023 preset, whose tie-breaks are those
// the table shows rather than plain shared ranks (protocol.md calls the order
// "inconsistent"; it is consistent with these rules): equal printed params
// (0.245 DFCDN/FRL Team 2, 0.307 CMVG/AIIA-SR) are ordered by runtime, as are
// equal Model-Comp sums (31, 11); equal Overall sums (67, 70, 78, 84, 90, 99)
// are ordered by the Model-Comp sum. With shared ties 9 ranks would differ.
//
// # Correlation
//
//	Correlate(metric, x, y) (Correlation, error)   // Pearson, Spearman, Kendall τ-b
//	CorrelateResults(table)                        // `srarena correlate`
//	AverageRanks(v), KendallTauB(x, y)
//
// 95 % intervals use the Fisher z transform (see Correlation); LogFit is a
// least-squares line on log10 scales for charts. On the NTIRE 2023 table the
// coefficients equal protocol.md §6 (scipy) to 4 decimals.
package scoring
