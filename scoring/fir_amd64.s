//go:build amd64 && !purego

#include "textflag.h"

// func fir11AVX(dst *float64, rows *[11]*float64, n int, taps *[6]float64)
//
// dst[i] = g0*(r0[i]+r10[i]) + g1*(r1[i]+r9[i]) + g2*(r2[i]+r8[i])
//        + g3*(r3[i]+r7[i]) + g4*(r4[i]+r6[i]) + g5*r5[i], for i < n,
// added left to right: the same IEEE operations, in the same order, as
// fir11Generic, four lanes at a time (AVX, no FMA), so the results are
// bit-identical. n must be a positive multiple of 4.
TEXT ·fir11AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Y10
	VBROADCASTSD 8(DX), Y11
	VBROADCASTSD 16(DX), Y12
	VBROADCASTSD 24(DX), Y13
	VBROADCASTSD 32(DX), Y14
	VBROADCASTSD 40(DX), Y15
	// Every pointer moved to its row's end; the index runs from -n to 0.
	LEAQ (DI)(CX*8), DI
	MOVQ 0(SI), R8
	LEAQ (R8)(CX*8), R8
	MOVQ 8(SI), R9
	LEAQ (R9)(CX*8), R9
	MOVQ 16(SI), R10
	LEAQ (R10)(CX*8), R10
	MOVQ 24(SI), R11
	LEAQ (R11)(CX*8), R11
	MOVQ 32(SI), R12
	LEAQ (R12)(CX*8), R12
	MOVQ 40(SI), R13
	LEAQ (R13)(CX*8), R13
	MOVQ 48(SI), R14
	LEAQ (R14)(CX*8), R14
	MOVQ 56(SI), AX
	LEAQ (AX)(CX*8), AX
	MOVQ 64(SI), BX
	LEAQ (BX)(CX*8), BX
	MOVQ 72(SI), DX
	LEAQ (DX)(CX*8), DX
	MOVQ 80(SI), SI
	LEAQ (SI)(CX*8), SI
	NEGQ CX

loop:
	VMOVUPD (R8)(CX*8), Y0
	VADDPD  (SI)(CX*8), Y0, Y0 // r0+r10
	VMULPD  Y10, Y0, Y0
	VMOVUPD (R9)(CX*8), Y1
	VADDPD  (DX)(CX*8), Y1, Y1 // r1+r9
	VMULPD  Y11, Y1, Y1
	VADDPD  Y1, Y0, Y0
	VMOVUPD (R10)(CX*8), Y2
	VADDPD  (BX)(CX*8), Y2, Y2 // r2+r8
	VMULPD  Y12, Y2, Y2
	VADDPD  Y2, Y0, Y0
	VMOVUPD (R11)(CX*8), Y3
	VADDPD  (AX)(CX*8), Y3, Y3 // r3+r7
	VMULPD  Y13, Y3, Y3
	VADDPD  Y3, Y0, Y0
	VMOVUPD (R12)(CX*8), Y4
	VADDPD  (R14)(CX*8), Y4, Y4 // r4+r6
	VMULPD  Y14, Y4, Y4
	VADDPD  Y4, Y0, Y0
	VMULPD  (R13)(CX*8), Y15, Y5
	VADDPD  Y5, Y0, Y0
	VMOVUPD Y0, (DI)(CX*8)
	ADDQ    $4, CX
	JNZ     loop
	VZEROUPPER
	RET

// func fir11AVX512(dst *float64, rows *[11]*float64, n int, taps *[6]float64)
//
// dst[i] = g0*(r0[i]+r10[i]) + g1*(r1[i]+r9[i]) + g2*(r2[i]+r8[i])
//        + g3*(r3[i]+r7[i]) + g4*(r4[i]+r6[i]) + g5*r5[i], for i < n,
// added left to right: the same IEEE operations, in the same order, as
// fir11Generic, eight lanes at a time (AVX-512, no FMA), so the results
// are bit-identical. n must be a positive multiple of 8.
TEXT ·fir11AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Z10
	VBROADCASTSD 8(DX), Z11
	VBROADCASTSD 16(DX), Z12
	VBROADCASTSD 24(DX), Z13
	VBROADCASTSD 32(DX), Z14
	VBROADCASTSD 40(DX), Z15
	// Every pointer moved to its row's end; the index runs from -n to 0.
	LEAQ (DI)(CX*8), DI
	MOVQ 0(SI), R8
	LEAQ (R8)(CX*8), R8
	MOVQ 8(SI), R9
	LEAQ (R9)(CX*8), R9
	MOVQ 16(SI), R10
	LEAQ (R10)(CX*8), R10
	MOVQ 24(SI), R11
	LEAQ (R11)(CX*8), R11
	MOVQ 32(SI), R12
	LEAQ (R12)(CX*8), R12
	MOVQ 40(SI), R13
	LEAQ (R13)(CX*8), R13
	MOVQ 48(SI), R14
	LEAQ (R14)(CX*8), R14
	MOVQ 56(SI), AX
	LEAQ (AX)(CX*8), AX
	MOVQ 64(SI), BX
	LEAQ (BX)(CX*8), BX
	MOVQ 72(SI), DX
	LEAQ (DX)(CX*8), DX
	MOVQ 80(SI), SI
	LEAQ (SI)(CX*8), SI
	NEGQ CX

loop:
	VMOVUPD (R8)(CX*8), Z0
	VADDPD  (SI)(CX*8), Z0, Z0 // r0+r10
	VMULPD  Z10, Z0, Z0
	VMOVUPD (R9)(CX*8), Z1
	VADDPD  (DX)(CX*8), Z1, Z1 // r1+r9
	VMULPD  Z11, Z1, Z1
	VADDPD  Z1, Z0, Z0
	VMOVUPD (R10)(CX*8), Z2
	VADDPD  (BX)(CX*8), Z2, Z2 // r2+r8
	VMULPD  Z12, Z2, Z2
	VADDPD  Z2, Z0, Z0
	VMOVUPD (R11)(CX*8), Z3
	VADDPD  (AX)(CX*8), Z3, Z3 // r3+r7
	VMULPD  Z13, Z3, Z3
	VADDPD  Z3, Z0, Z0
	VMOVUPD (R12)(CX*8), Z4
	VADDPD  (R14)(CX*8), Z4, Z4 // r4+r6
	VMULPD  Z14, Z4, Z4
	VADDPD  Z4, Z0, Z0
	VMULPD  (R13)(CX*8), Z15, Z18
	VADDPD  Z18, Z0, Z0
	VMOVUPD Z0, (DI)(CX*8)
	ADDQ    $8, CX
	JNZ     loop
	VZEROUPPER
	RET

// PLANE is the byte distance between the five planes of a ring row:
// ssimPlaneStride (parallel.go) float64 values.
#define PLANE 6208

// loadRows moves the 11 row pointers of rows (in SI) to their rows' ends
// (+n*8, n in CX) and negates CX, so that (Rk)(CX*8) walks the row as CX
// runs from -n to 0: r0..r10 in R8..R14, AX, BX, DX, SI.
#define loadRows \
	MOVQ 0(SI), R8; LEAQ (R8)(CX*8), R8; \
	MOVQ 8(SI), R9; LEAQ (R9)(CX*8), R9; \
	MOVQ 16(SI), R10; LEAQ (R10)(CX*8), R10; \
	MOVQ 24(SI), R11; LEAQ (R11)(CX*8), R11; \
	MOVQ 32(SI), R12; LEAQ (R12)(CX*8), R12; \
	MOVQ 40(SI), R13; LEAQ (R13)(CX*8), R13; \
	MOVQ 48(SI), R14; LEAQ (R14)(CX*8), R14; \
	MOVQ 56(SI), AX; LEAQ (AX)(CX*8), AX; \
	MOVQ 64(SI), BX; LEAQ (BX)(CX*8), BX; \
	MOVQ 72(SI), DX; LEAQ (DX)(CX*8), DX; \
	MOVQ 80(SI), SI; LEAQ (SI)(CX*8), SI; \
	NEGQ CX

// vfir(off, V, T, G0..G5) is fir11At on the 11 rows at byte offset off
// into V, with T as scratch and the taps in G0..G5.
#define vfir(off, V, T, G0, G1, G2, G3, G4, G5) \
	VMOVUPD off(R8)(CX*8), V; \
	VADDPD  off(SI)(CX*8), V, V; \
	VMULPD  G0, V, V; \
	VMOVUPD off(R9)(CX*8), T; \
	VADDPD  off(DX)(CX*8), T, T; \
	VMULPD  G1, T, T; \
	VADDPD  T, V, V; \
	VMOVUPD off(R10)(CX*8), T; \
	VADDPD  off(BX)(CX*8), T, T; \
	VMULPD  G2, T, T; \
	VADDPD  T, V, V; \
	VMOVUPD off(R11)(CX*8), T; \
	VADDPD  off(AX)(CX*8), T, T; \
	VMULPD  G3, T, T; \
	VADDPD  T, V, V; \
	VMOVUPD off(R12)(CX*8), T; \
	VADDPD  off(R14)(CX*8), T, T; \
	VMULPD  G4, T, T; \
	VADDPD  T, V, V; \
	VMULPD  off(R13)(CX*8), G5, T; \
	VADDPD  T, V, V

// ssimFormula is ssimMapAt on mu1, mu2, mxx, myy, mxy in V0..V4, with C1
// and C2 in C1, C2: the map value ends in V0; V5 is scratch. 2·x is x+x
// (exact either way).
#define ssimFormula(V0, V1, V2, V3, V4, V5, C1, C2) \
	VMULPD V0, V0, V5; \
	VMULPD V1, V0, V0; \
	VMULPD V1, V1, V1; \
	VSUBPD V5, V2, V2; \
	VSUBPD V1, V3, V3; \
	VSUBPD V0, V4, V4; \
	VADDPD V0, V0, V0; \
	VADDPD C1, V0, V0; \
	VADDPD V4, V4, V4; \
	VADDPD C2, V4, V4; \
	VMULPD V4, V0, V0; \
	VADDPD V1, V5, V5; \
	VADDPD C1, V5, V5; \
	VADDPD V3, V2, V2; \
	VADDPD C2, V2, V2; \
	VMULPD V2, V5, V5; \
	VDIVPD V5, V0, V0

// func ssimMapAVX512(dst *float64, rows *[11]*float64, n int, taps *[6]float64, c *[2]float64)
//
// ssimMapGeneric on dst[0:n], eight values at a time, with the same
// operations in the same order (no FMA): bit-identical. n must be a
// positive multiple of 8.
TEXT ·ssimMapAVX512(SB), NOSPLIT, $0-40
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Z10
	VBROADCASTSD 8(DX), Z11
	VBROADCASTSD 16(DX), Z12
	VBROADCASTSD 24(DX), Z13
	VBROADCASTSD 32(DX), Z14
	VBROADCASTSD 40(DX), Z15
	MOVQ c+32(FP), DX
	VBROADCASTSD 0(DX), Z16
	VBROADCASTSD 8(DX), Z17
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ dst+0(FP), DI
	LEAQ (DI)(CX*8), DI
	loadRows

loop512:
	vfir(0, Z0, Z20, Z10, Z11, Z12, Z13, Z14, Z15)
	vfir(PLANE, Z1, Z21, Z10, Z11, Z12, Z13, Z14, Z15)
	vfir(2*PLANE, Z2, Z22, Z10, Z11, Z12, Z13, Z14, Z15)
	vfir(3*PLANE, Z3, Z23, Z10, Z11, Z12, Z13, Z14, Z15)
	vfir(4*PLANE, Z4, Z24, Z10, Z11, Z12, Z13, Z14, Z15)
	ssimFormula(Z0, Z1, Z2, Z3, Z4, Z5, Z16, Z17)
	VMOVUPD Z0, (DI)(CX*8)
	ADDQ $8, CX
	JNZ  loop512
	VZEROUPPER
	RET

// func ssimMapAVX(dst *float64, rows *[11]*float64, n int, taps *[6]float64, c *[2]float64)
//
// ssimMapAVX512 four values at a time. n must be a positive multiple of 4.
TEXT ·ssimMapAVX(SB), NOSPLIT, $0-40
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Y10
	VBROADCASTSD 8(DX), Y11
	VBROADCASTSD 16(DX), Y12
	VBROADCASTSD 24(DX), Y13
	VBROADCASTSD 32(DX), Y14
	VBROADCASTSD 40(DX), Y15
	MOVQ c+32(FP), DX
	VBROADCASTSD 0(DX), Y8
	VBROADCASTSD 8(DX), Y9
	MOVQ rows+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ dst+0(FP), DI
	LEAQ (DI)(CX*8), DI
	loadRows

loopAVX:
	vfir(0, Y0, Y5, Y10, Y11, Y12, Y13, Y14, Y15)
	vfir(PLANE, Y1, Y6, Y10, Y11, Y12, Y13, Y14, Y15)
	vfir(2*PLANE, Y2, Y7, Y10, Y11, Y12, Y13, Y14, Y15)
	vfir(3*PLANE, Y3, Y5, Y10, Y11, Y12, Y13, Y14, Y15)
	vfir(4*PLANE, Y4, Y6, Y10, Y11, Y12, Y13, Y14, Y15)
	ssimFormula(Y0, Y1, Y2, Y3, Y4, Y5, Y8, Y9)
	VMOVUPD Y0, (DI)(CX*8)
	ADDQ $4, CX
	JNZ  loopAVX
	VZEROUPPER
	RET

// func ssimPrepAVX(dst *[5]*float64, a, b *uint8, n int)
//
// ssimPrep on uint8 rows, four values at a time: dst[0..4] get x, y, x², y²
// and xy as float64 (all exact). n must be a positive multiple of 4.
TEXT ·ssimPrepAVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ 0(DX), R8
	MOVQ 8(DX), R9
	MOVQ 16(DX), R10
	MOVQ 24(DX), R11
	MOVQ 32(DX), R12
	XORQ AX, AX

prep:
	VPMOVZXBD (SI)(AX*1), X0
	VPMOVZXBD (DI)(AX*1), X1
	VCVTDQ2PD X0, Y0
	VCVTDQ2PD X1, Y1
	VMULPD    Y0, Y0, Y2
	VMULPD    Y1, Y1, Y3
	VMULPD    Y1, Y0, Y4
	VMOVUPD   Y0, (R8)(AX*8)
	VMOVUPD   Y1, (R9)(AX*8)
	VMOVUPD   Y2, (R10)(AX*8)
	VMOVUPD   Y3, (R11)(AX*8)
	VMOVUPD   Y4, (R12)(AX*8)
	ADDQ      $4, AX
	CMPQ      AX, CX
	JLT       prep
	VZEROUPPER
	RET

// func ssimMap2AVX512(dst *float64, rows *[12]*float64, n int, taps *[6]float64, c *[2]float64)
//
// ssimMapAVX512 for two consecutive map rows at once: rows are the 12
// filtered rows they need (the window of the first map row is rows 0-10,
// of the second rows 1-11), each with five planes PLANE bytes apart; map
// values go to dst[i] and dst[DSTOFF/8+i] (DSTOFF = 6144, 3·ssimTile
// float64 values). Each row is loaded once for both map rows, so the
// vertical pass reads 12 rows for two map rows instead of 22: it is bound
// by loads. The arithmetic is ssimMapAVX512's, value for value. n must be
// a positive multiple of 8. (Generated; the 12 row pointers live in
// R8-R15, AX, BX, DX, SI.)
TEXT ·ssimMap2AVX512(SB), NOSPLIT, $0-40
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Z10
	VBROADCASTSD 8(DX), Z11
	VBROADCASTSD 16(DX), Z12
	VBROADCASTSD 24(DX), Z13
	VBROADCASTSD 32(DX), Z14
	VBROADCASTSD 40(DX), Z15
	MOVQ c+32(FP), DX
	VBROADCASTSD 0(DX), Z16
	VBROADCASTSD 8(DX), Z17
	MOVQ n+16(FP), CX
	MOVQ dst+0(FP), DI
	LEAQ (DI)(CX*8), DI
	MOVQ rows+8(FP), SI
	MOVQ 0(SI), R8
	LEAQ (R8)(CX*8), R8
	MOVQ 8(SI), R9
	LEAQ (R9)(CX*8), R9
	MOVQ 16(SI), R10
	LEAQ (R10)(CX*8), R10
	MOVQ 24(SI), R11
	LEAQ (R11)(CX*8), R11
	MOVQ 32(SI), R12
	LEAQ (R12)(CX*8), R12
	MOVQ 40(SI), R13
	LEAQ (R13)(CX*8), R13
	MOVQ 48(SI), R14
	LEAQ (R14)(CX*8), R14
	MOVQ 56(SI), R15
	LEAQ (R15)(CX*8), R15
	MOVQ 64(SI), AX
	LEAQ (AX)(CX*8), AX
	MOVQ 72(SI), BX
	LEAQ (BX)(CX*8), BX
	MOVQ 80(SI), DX
	LEAQ (DX)(CX*8), DX
	MOVQ 88(SI), SI
	LEAQ (SI)(CX*8), SI
	NEGQ CX

loop2:
	VMOVUPD 0(R8)(CX*8), Z20
	VMOVUPD 0(R9)(CX*8), Z21
	VMOVUPD 0(R10)(CX*8), Z22
	VMOVUPD 0(R11)(CX*8), Z23
	VMOVUPD 0(R12)(CX*8), Z24
	VMOVUPD 0(R13)(CX*8), Z25
	VMOVUPD 0(R14)(CX*8), Z26
	VMOVUPD 0(R15)(CX*8), Z27
	VMOVUPD 0(AX)(CX*8), Z28
	VMOVUPD 0(BX)(CX*8), Z29
	VMOVUPD 0(DX)(CX*8), Z30
	VMOVUPD 0(SI)(CX*8), Z31
	VADDPD  Z30, Z20, Z0
	VMULPD  Z10, Z0, Z0
	VADDPD  Z29, Z21, Z18
	VMULPD  Z11, Z18, Z18
	VADDPD  Z18, Z0, Z0
	VADDPD  Z28, Z22, Z18
	VMULPD  Z12, Z18, Z18
	VADDPD  Z18, Z0, Z0
	VADDPD  Z27, Z23, Z18
	VMULPD  Z13, Z18, Z18
	VADDPD  Z18, Z0, Z0
	VADDPD  Z26, Z24, Z18
	VMULPD  Z14, Z18, Z18
	VADDPD  Z18, Z0, Z0
	VMULPD  Z15, Z25, Z18
	VADDPD  Z18, Z0, Z0
	VADDPD  Z31, Z21, Z5
	VMULPD  Z10, Z5, Z5
	VADDPD  Z30, Z22, Z19
	VMULPD  Z11, Z19, Z19
	VADDPD  Z19, Z5, Z5
	VADDPD  Z29, Z23, Z19
	VMULPD  Z12, Z19, Z19
	VADDPD  Z19, Z5, Z5
	VADDPD  Z28, Z24, Z19
	VMULPD  Z13, Z19, Z19
	VADDPD  Z19, Z5, Z5
	VADDPD  Z27, Z25, Z19
	VMULPD  Z14, Z19, Z19
	VADDPD  Z19, Z5, Z5
	VMULPD  Z15, Z26, Z19
	VADDPD  Z19, Z5, Z5
	VMOVUPD 6208(R8)(CX*8), Z20
	VMOVUPD 6208(R9)(CX*8), Z21
	VMOVUPD 6208(R10)(CX*8), Z22
	VMOVUPD 6208(R11)(CX*8), Z23
	VMOVUPD 6208(R12)(CX*8), Z24
	VMOVUPD 6208(R13)(CX*8), Z25
	VMOVUPD 6208(R14)(CX*8), Z26
	VMOVUPD 6208(R15)(CX*8), Z27
	VMOVUPD 6208(AX)(CX*8), Z28
	VMOVUPD 6208(BX)(CX*8), Z29
	VMOVUPD 6208(DX)(CX*8), Z30
	VMOVUPD 6208(SI)(CX*8), Z31
	VADDPD  Z30, Z20, Z1
	VMULPD  Z10, Z1, Z1
	VADDPD  Z29, Z21, Z18
	VMULPD  Z11, Z18, Z18
	VADDPD  Z18, Z1, Z1
	VADDPD  Z28, Z22, Z18
	VMULPD  Z12, Z18, Z18
	VADDPD  Z18, Z1, Z1
	VADDPD  Z27, Z23, Z18
	VMULPD  Z13, Z18, Z18
	VADDPD  Z18, Z1, Z1
	VADDPD  Z26, Z24, Z18
	VMULPD  Z14, Z18, Z18
	VADDPD  Z18, Z1, Z1
	VMULPD  Z15, Z25, Z18
	VADDPD  Z18, Z1, Z1
	VADDPD  Z31, Z21, Z6
	VMULPD  Z10, Z6, Z6
	VADDPD  Z30, Z22, Z19
	VMULPD  Z11, Z19, Z19
	VADDPD  Z19, Z6, Z6
	VADDPD  Z29, Z23, Z19
	VMULPD  Z12, Z19, Z19
	VADDPD  Z19, Z6, Z6
	VADDPD  Z28, Z24, Z19
	VMULPD  Z13, Z19, Z19
	VADDPD  Z19, Z6, Z6
	VADDPD  Z27, Z25, Z19
	VMULPD  Z14, Z19, Z19
	VADDPD  Z19, Z6, Z6
	VMULPD  Z15, Z26, Z19
	VADDPD  Z19, Z6, Z6
	VMOVUPD 12416(R8)(CX*8), Z20
	VMOVUPD 12416(R9)(CX*8), Z21
	VMOVUPD 12416(R10)(CX*8), Z22
	VMOVUPD 12416(R11)(CX*8), Z23
	VMOVUPD 12416(R12)(CX*8), Z24
	VMOVUPD 12416(R13)(CX*8), Z25
	VMOVUPD 12416(R14)(CX*8), Z26
	VMOVUPD 12416(R15)(CX*8), Z27
	VMOVUPD 12416(AX)(CX*8), Z28
	VMOVUPD 12416(BX)(CX*8), Z29
	VMOVUPD 12416(DX)(CX*8), Z30
	VMOVUPD 12416(SI)(CX*8), Z31
	VADDPD  Z30, Z20, Z2
	VMULPD  Z10, Z2, Z2
	VADDPD  Z29, Z21, Z18
	VMULPD  Z11, Z18, Z18
	VADDPD  Z18, Z2, Z2
	VADDPD  Z28, Z22, Z18
	VMULPD  Z12, Z18, Z18
	VADDPD  Z18, Z2, Z2
	VADDPD  Z27, Z23, Z18
	VMULPD  Z13, Z18, Z18
	VADDPD  Z18, Z2, Z2
	VADDPD  Z26, Z24, Z18
	VMULPD  Z14, Z18, Z18
	VADDPD  Z18, Z2, Z2
	VMULPD  Z15, Z25, Z18
	VADDPD  Z18, Z2, Z2
	VADDPD  Z31, Z21, Z7
	VMULPD  Z10, Z7, Z7
	VADDPD  Z30, Z22, Z19
	VMULPD  Z11, Z19, Z19
	VADDPD  Z19, Z7, Z7
	VADDPD  Z29, Z23, Z19
	VMULPD  Z12, Z19, Z19
	VADDPD  Z19, Z7, Z7
	VADDPD  Z28, Z24, Z19
	VMULPD  Z13, Z19, Z19
	VADDPD  Z19, Z7, Z7
	VADDPD  Z27, Z25, Z19
	VMULPD  Z14, Z19, Z19
	VADDPD  Z19, Z7, Z7
	VMULPD  Z15, Z26, Z19
	VADDPD  Z19, Z7, Z7
	VMOVUPD 18624(R8)(CX*8), Z20
	VMOVUPD 18624(R9)(CX*8), Z21
	VMOVUPD 18624(R10)(CX*8), Z22
	VMOVUPD 18624(R11)(CX*8), Z23
	VMOVUPD 18624(R12)(CX*8), Z24
	VMOVUPD 18624(R13)(CX*8), Z25
	VMOVUPD 18624(R14)(CX*8), Z26
	VMOVUPD 18624(R15)(CX*8), Z27
	VMOVUPD 18624(AX)(CX*8), Z28
	VMOVUPD 18624(BX)(CX*8), Z29
	VMOVUPD 18624(DX)(CX*8), Z30
	VMOVUPD 18624(SI)(CX*8), Z31
	VADDPD  Z30, Z20, Z3
	VMULPD  Z10, Z3, Z3
	VADDPD  Z29, Z21, Z18
	VMULPD  Z11, Z18, Z18
	VADDPD  Z18, Z3, Z3
	VADDPD  Z28, Z22, Z18
	VMULPD  Z12, Z18, Z18
	VADDPD  Z18, Z3, Z3
	VADDPD  Z27, Z23, Z18
	VMULPD  Z13, Z18, Z18
	VADDPD  Z18, Z3, Z3
	VADDPD  Z26, Z24, Z18
	VMULPD  Z14, Z18, Z18
	VADDPD  Z18, Z3, Z3
	VMULPD  Z15, Z25, Z18
	VADDPD  Z18, Z3, Z3
	VADDPD  Z31, Z21, Z8
	VMULPD  Z10, Z8, Z8
	VADDPD  Z30, Z22, Z19
	VMULPD  Z11, Z19, Z19
	VADDPD  Z19, Z8, Z8
	VADDPD  Z29, Z23, Z19
	VMULPD  Z12, Z19, Z19
	VADDPD  Z19, Z8, Z8
	VADDPD  Z28, Z24, Z19
	VMULPD  Z13, Z19, Z19
	VADDPD  Z19, Z8, Z8
	VADDPD  Z27, Z25, Z19
	VMULPD  Z14, Z19, Z19
	VADDPD  Z19, Z8, Z8
	VMULPD  Z15, Z26, Z19
	VADDPD  Z19, Z8, Z8
	VMOVUPD 24832(R8)(CX*8), Z20
	VMOVUPD 24832(R9)(CX*8), Z21
	VMOVUPD 24832(R10)(CX*8), Z22
	VMOVUPD 24832(R11)(CX*8), Z23
	VMOVUPD 24832(R12)(CX*8), Z24
	VMOVUPD 24832(R13)(CX*8), Z25
	VMOVUPD 24832(R14)(CX*8), Z26
	VMOVUPD 24832(R15)(CX*8), Z27
	VMOVUPD 24832(AX)(CX*8), Z28
	VMOVUPD 24832(BX)(CX*8), Z29
	VMOVUPD 24832(DX)(CX*8), Z30
	VMOVUPD 24832(SI)(CX*8), Z31
	VADDPD  Z30, Z20, Z4
	VMULPD  Z10, Z4, Z4
	VADDPD  Z29, Z21, Z18
	VMULPD  Z11, Z18, Z18
	VADDPD  Z18, Z4, Z4
	VADDPD  Z28, Z22, Z18
	VMULPD  Z12, Z18, Z18
	VADDPD  Z18, Z4, Z4
	VADDPD  Z27, Z23, Z18
	VMULPD  Z13, Z18, Z18
	VADDPD  Z18, Z4, Z4
	VADDPD  Z26, Z24, Z18
	VMULPD  Z14, Z18, Z18
	VADDPD  Z18, Z4, Z4
	VMULPD  Z15, Z25, Z18
	VADDPD  Z18, Z4, Z4
	VADDPD  Z31, Z21, Z9
	VMULPD  Z10, Z9, Z9
	VADDPD  Z30, Z22, Z19
	VMULPD  Z11, Z19, Z19
	VADDPD  Z19, Z9, Z9
	VADDPD  Z29, Z23, Z19
	VMULPD  Z12, Z19, Z19
	VADDPD  Z19, Z9, Z9
	VADDPD  Z28, Z24, Z19
	VMULPD  Z13, Z19, Z19
	VADDPD  Z19, Z9, Z9
	VADDPD  Z27, Z25, Z19
	VMULPD  Z14, Z19, Z19
	VADDPD  Z19, Z9, Z9
	VMULPD  Z15, Z26, Z19
	VADDPD  Z19, Z9, Z9
	ssimFormula(Z0, Z1, Z2, Z3, Z4, Z18, Z16, Z17)
	ssimFormula(Z5, Z6, Z7, Z8, Z9, Z19, Z16, Z17)
	VMOVUPD Z0, (DI)(CX*8)
	VMOVUPD Z5, 6144(DI)(CX*8)
	ADDQ $8, CX
	JNZ  loop2
	VZEROUPPER
	RET

// func fir11S3AVX512(dst, src *float64, n int, taps *[6]float64)
//
// fir11AVX512 on the rows src[3j:], j = 0..10 (the horizontal pass over
// interleaved RGB): the same operations in the same order, bit-identical.
// Instead of 11 loads at offsets 3j (most of them split across two cache
// lines) it loads src[i:i+40] as five vectors once and shifts them into
// place with VALIGNQ. n must be a positive multiple of 8; src[n+31] must
// be readable.
TEXT ·fir11S3AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ taps+24(FP), DX
	VBROADCASTSD 0(DX), Z10
	VBROADCASTSD 8(DX), Z11
	VBROADCASTSD 16(DX), Z12
	VBROADCASTSD 24(DX), Z13
	VBROADCASTSD 32(DX), Z14
	VBROADCASTSD 40(DX), Z15
	LEAQ (DI)(CX*8), DI
	LEAQ (SI)(CX*8), SI
	NEGQ CX

loopS3:
	VMOVUPD 0(SI)(CX*8), Z0   // src[i+0..8)
	VMOVUPD 64(SI)(CX*8), Z1  // src[i+8..16)
	VMOVUPD 128(SI)(CX*8), Z2 // src[i+16..24)
	VMOVUPD 192(SI)(CX*8), Z3 // src[i+24..32)
	VMOVUPD 256(SI)(CX*8), Z4 // src[i+32..40)
	VALIGNQ $6, Z3, Z4, Z5    // v10 = src[i+30..)
	VADDPD  Z5, Z0, Z16       // v0+v10
	VMULPD  Z10, Z16, Z16
	VALIGNQ $3, Z0, Z1, Z5    // v1 = src[i+3..)
	VALIGNQ $3, Z3, Z4, Z6    // v9 = src[i+27..)
	VADDPD  Z6, Z5, Z17
	VMULPD  Z11, Z17, Z17
	VADDPD  Z17, Z16, Z16
	VALIGNQ $6, Z0, Z1, Z5    // v2 = src[i+6..)
	VADDPD  Z3, Z5, Z17       // v8 = src[i+24..)
	VMULPD  Z12, Z17, Z17
	VADDPD  Z17, Z16, Z16
	VALIGNQ $1, Z1, Z2, Z5    // v3 = src[i+9..)
	VALIGNQ $5, Z2, Z3, Z6    // v7 = src[i+21..)
	VADDPD  Z6, Z5, Z17
	VMULPD  Z13, Z17, Z17
	VADDPD  Z17, Z16, Z16
	VALIGNQ $4, Z1, Z2, Z5    // v4 = src[i+12..)
	VALIGNQ $2, Z2, Z3, Z6    // v6 = src[i+18..)
	VADDPD  Z6, Z5, Z17
	VMULPD  Z14, Z17, Z17
	VADDPD  Z17, Z16, Z16
	VALIGNQ $7, Z1, Z2, Z5    // v5 = src[i+15..)
	VMULPD  Z15, Z5, Z17
	VADDPD  Z17, Z16, Z16
	VMOVUPD Z16, (DI)(CX*8)
	ADDQ    $8, CX
	JNZ     loopS3
	VZEROUPPER
	RET

// Constants of ySqDiffAVX2 (generated): per 32 bytes, the coefficient
// patterns k0-k2, the VPERMD indices i<channel><vector>, 127500 ×8, 255000.0 ×4.
DATA yconst<>+0(SB)/4, $65481
DATA yconst<>+4(SB)/4, $128553
DATA yconst<>+8(SB)/4, $24966
DATA yconst<>+12(SB)/4, $65481
DATA yconst<>+16(SB)/4, $128553
DATA yconst<>+20(SB)/4, $24966
DATA yconst<>+24(SB)/4, $65481
DATA yconst<>+28(SB)/4, $128553
DATA yconst<>+32(SB)/4, $24966
DATA yconst<>+36(SB)/4, $65481
DATA yconst<>+40(SB)/4, $128553
DATA yconst<>+44(SB)/4, $24966
DATA yconst<>+48(SB)/4, $65481
DATA yconst<>+52(SB)/4, $128553
DATA yconst<>+56(SB)/4, $24966
DATA yconst<>+60(SB)/4, $65481
DATA yconst<>+64(SB)/4, $128553
DATA yconst<>+68(SB)/4, $24966
DATA yconst<>+72(SB)/4, $65481
DATA yconst<>+76(SB)/4, $128553
DATA yconst<>+80(SB)/4, $24966
DATA yconst<>+84(SB)/4, $65481
DATA yconst<>+88(SB)/4, $128553
DATA yconst<>+92(SB)/4, $24966
DATA yconst<>+96(SB)/4, $0
DATA yconst<>+100(SB)/4, $3
DATA yconst<>+104(SB)/4, $6
DATA yconst<>+108(SB)/4, $0
DATA yconst<>+112(SB)/4, $0
DATA yconst<>+116(SB)/4, $0
DATA yconst<>+120(SB)/4, $0
DATA yconst<>+124(SB)/4, $0
DATA yconst<>+128(SB)/4, $0
DATA yconst<>+132(SB)/4, $0
DATA yconst<>+136(SB)/4, $0
DATA yconst<>+140(SB)/4, $1
DATA yconst<>+144(SB)/4, $4
DATA yconst<>+148(SB)/4, $7
DATA yconst<>+152(SB)/4, $0
DATA yconst<>+156(SB)/4, $0
DATA yconst<>+160(SB)/4, $0
DATA yconst<>+164(SB)/4, $0
DATA yconst<>+168(SB)/4, $0
DATA yconst<>+172(SB)/4, $0
DATA yconst<>+176(SB)/4, $0
DATA yconst<>+180(SB)/4, $0
DATA yconst<>+184(SB)/4, $2
DATA yconst<>+188(SB)/4, $5
DATA yconst<>+192(SB)/4, $1
DATA yconst<>+196(SB)/4, $4
DATA yconst<>+200(SB)/4, $7
DATA yconst<>+204(SB)/4, $0
DATA yconst<>+208(SB)/4, $0
DATA yconst<>+212(SB)/4, $0
DATA yconst<>+216(SB)/4, $0
DATA yconst<>+220(SB)/4, $0
DATA yconst<>+224(SB)/4, $0
DATA yconst<>+228(SB)/4, $0
DATA yconst<>+232(SB)/4, $0
DATA yconst<>+236(SB)/4, $2
DATA yconst<>+240(SB)/4, $5
DATA yconst<>+244(SB)/4, $0
DATA yconst<>+248(SB)/4, $0
DATA yconst<>+252(SB)/4, $0
DATA yconst<>+256(SB)/4, $0
DATA yconst<>+260(SB)/4, $0
DATA yconst<>+264(SB)/4, $0
DATA yconst<>+268(SB)/4, $0
DATA yconst<>+272(SB)/4, $0
DATA yconst<>+276(SB)/4, $0
DATA yconst<>+280(SB)/4, $3
DATA yconst<>+284(SB)/4, $6
DATA yconst<>+288(SB)/4, $2
DATA yconst<>+292(SB)/4, $5
DATA yconst<>+296(SB)/4, $0
DATA yconst<>+300(SB)/4, $0
DATA yconst<>+304(SB)/4, $0
DATA yconst<>+308(SB)/4, $0
DATA yconst<>+312(SB)/4, $0
DATA yconst<>+316(SB)/4, $0
DATA yconst<>+320(SB)/4, $0
DATA yconst<>+324(SB)/4, $0
DATA yconst<>+328(SB)/4, $0
DATA yconst<>+332(SB)/4, $3
DATA yconst<>+336(SB)/4, $6
DATA yconst<>+340(SB)/4, $0
DATA yconst<>+344(SB)/4, $0
DATA yconst<>+348(SB)/4, $0
DATA yconst<>+352(SB)/4, $0
DATA yconst<>+356(SB)/4, $0
DATA yconst<>+360(SB)/4, $0
DATA yconst<>+364(SB)/4, $0
DATA yconst<>+368(SB)/4, $0
DATA yconst<>+372(SB)/4, $1
DATA yconst<>+376(SB)/4, $4
DATA yconst<>+380(SB)/4, $7
DATA yconst<>+384(SB)/4, $127500
DATA yconst<>+388(SB)/4, $127500
DATA yconst<>+392(SB)/4, $127500
DATA yconst<>+396(SB)/4, $127500
DATA yconst<>+400(SB)/4, $127500
DATA yconst<>+404(SB)/4, $127500
DATA yconst<>+408(SB)/4, $127500
DATA yconst<>+412(SB)/4, $127500
DATA yconst<>+416(SB)/8, $0x410f20c000000000
DATA yconst<>+424(SB)/8, $0x410f20c000000000
DATA yconst<>+432(SB)/8, $0x410f20c000000000
DATA yconst<>+440(SB)/8, $0x410f20c000000000
GLOBL yconst<>(SB), RODATA|NOPTR, $448

// func ySqDiffAVX2(a, b *uint8, n int) (sum float64, tie int)
//
// ySqDiffRow's loop on n pixels (n a positive multiple of 8), eight at a
// time: N = 65481R + 128553G + 24966B + 127500 in int32 (the bytes times
// a repeating coefficient pattern, then gathered per pixel with VPERMD),
// q = floor(N / 255000) as float64 (N and 255000 are exact and the
// division is correctly rounded, so q is N div 255000), and the squared
// differences of q summed in float64: integers under 2^53, so exact in any
// order. tie is nonzero if any N is a multiple of 255000 (an exact luma
// tie): the caller then sums the row on the exact path instead.
TEXT ·ySqDiffAVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12

loopY:
	VPMOVZXBD 0(SI), Y0
	VPMULLD yconst<>+0(SB), Y0, Y0
	VPMOVZXBD 8(SI), Y1
	VPMULLD yconst<>+32(SB), Y1, Y1
	VPMOVZXBD 16(SI), Y2
	VPMULLD yconst<>+64(SB), Y2, Y2
	VMOVDQU yconst<>+96(SB), Y3
	VPERMD Y0, Y3, Y6
	VMOVDQU yconst<>+128(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $56, Y5, Y6, Y6
	VMOVDQU yconst<>+160(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $192, Y5, Y6, Y6
	VMOVDQU yconst<>+192(SB), Y3
	VPERMD Y0, Y3, Y4
	VMOVDQU yconst<>+224(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $24, Y5, Y4, Y4
	VMOVDQU yconst<>+256(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $224, Y5, Y4, Y4
	VPADDD Y4, Y6, Y6
	VMOVDQU yconst<>+288(SB), Y3
	VPERMD Y0, Y3, Y4
	VMOVDQU yconst<>+320(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $28, Y5, Y4, Y4
	VMOVDQU yconst<>+352(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $224, Y5, Y4, Y4
	VPADDD Y4, Y6, Y6
	VPADDD yconst<>+384(SB), Y6, Y6
	VCVTDQ2PD X6, Y13
	VDIVPD yconst<>+416(SB), Y13, Y7
	VROUNDPD $1, Y7, Y7
	VMULPD yconst<>+416(SB), Y7, Y14
	VCMPPD $0, Y14, Y13, Y14
	VORPD Y14, Y12, Y12
	VEXTRACTI128 $1, Y6, X15
	VCVTDQ2PD X15, Y13
	VDIVPD yconst<>+416(SB), Y13, Y8
	VROUNDPD $1, Y8, Y8
	VMULPD yconst<>+416(SB), Y8, Y14
	VCMPPD $0, Y14, Y13, Y14
	VORPD Y14, Y12, Y12
	VPMOVZXBD 0(DI), Y0
	VPMULLD yconst<>+0(SB), Y0, Y0
	VPMOVZXBD 8(DI), Y1
	VPMULLD yconst<>+32(SB), Y1, Y1
	VPMOVZXBD 16(DI), Y2
	VPMULLD yconst<>+64(SB), Y2, Y2
	VMOVDQU yconst<>+96(SB), Y3
	VPERMD Y0, Y3, Y6
	VMOVDQU yconst<>+128(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $56, Y5, Y6, Y6
	VMOVDQU yconst<>+160(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $192, Y5, Y6, Y6
	VMOVDQU yconst<>+192(SB), Y3
	VPERMD Y0, Y3, Y4
	VMOVDQU yconst<>+224(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $24, Y5, Y4, Y4
	VMOVDQU yconst<>+256(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $224, Y5, Y4, Y4
	VPADDD Y4, Y6, Y6
	VMOVDQU yconst<>+288(SB), Y3
	VPERMD Y0, Y3, Y4
	VMOVDQU yconst<>+320(SB), Y3
	VPERMD Y1, Y3, Y5
	VPBLENDD $28, Y5, Y4, Y4
	VMOVDQU yconst<>+352(SB), Y3
	VPERMD Y2, Y3, Y5
	VPBLENDD $224, Y5, Y4, Y4
	VPADDD Y4, Y6, Y6
	VPADDD yconst<>+384(SB), Y6, Y6
	VCVTDQ2PD X6, Y13
	VDIVPD yconst<>+416(SB), Y13, Y9
	VROUNDPD $1, Y9, Y9
	VMULPD yconst<>+416(SB), Y9, Y14
	VCMPPD $0, Y14, Y13, Y14
	VORPD Y14, Y12, Y12
	VEXTRACTI128 $1, Y6, X15
	VCVTDQ2PD X15, Y13
	VDIVPD yconst<>+416(SB), Y13, Y10
	VROUNDPD $1, Y10, Y10
	VMULPD yconst<>+416(SB), Y10, Y14
	VCMPPD $0, Y14, Y13, Y14
	VORPD Y14, Y12, Y12
	VSUBPD Y9, Y7, Y7
	VSUBPD Y10, Y8, Y8
	VMULPD Y7, Y7, Y7
	VMULPD Y8, Y8, Y8
	VADDPD Y7, Y11, Y11
	VADDPD Y8, Y11, Y11
	ADDQ $24, SI
	ADDQ $24, DI
	SUBQ $8, CX
	JNZ loopY
	VEXTRACTF128 $1, Y11, X0
	VADDPD X0, X11, X11
	VHADDPD X11, X11, X11
	MOVSD X11, sum+24(FP)
	VMOVMSKPD Y12, AX
	MOVQ AX, tie+32(FP)
	VZEROUPPER
	RET

// func sqDiffAVX2(a, b *uint8, n int) uint64
//
// Σ (a[i] − b[i])² for i < n (a positive multiple of 16), 16 bytes at a
// time: differences in int16, squares summed in pairs (VPMADDWD, at most
// 2·255² per int32), widened to int64 before they are added: exact.
TEXT ·sqDiffAVX2(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VPXOR Y4, Y4, Y4
	XORQ  AX, AX

loopSq:
	VPMOVZXBW (SI)(AX*1), Y0
	VPMOVZXBW (DI)(AX*1), Y1
	VPSUBW    Y1, Y0, Y0
	VPMADDWD  Y0, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMOVZXDQ X0, Y2
	VPMOVZXDQ X1, Y3
	VPADDQ    Y2, Y4, Y4
	VPADDQ    Y3, Y4, Y4
	ADDQ      $16, AX
	CMPQ      AX, CX
	JLT       loopSq
	VEXTRACTI128 $1, Y4, X0
	VPADDQ    X0, X4, X4
	VPSHUFD   $0x4e, X4, X0
	VPADDQ    X0, X4, X4
	VMOVQ     X4, AX
	MOVQ      AX, ret+24(FP)
	VZEROUPPER
	RET
