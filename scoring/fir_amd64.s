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
	VMULPD  (R13)(CX*8), Y15, Y5 // g5*r5
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
// fir11Generic, eight lanes at a time (AVX-512, no FMA), so the results are
// bit-identical. n must be a positive multiple of 8.
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
	VMULPD  (R13)(CX*8), Z15, Z5 // g5*r5
	VADDPD  Z5, Z0, Z0
	VMOVUPD Z0, (DI)(CX*8)
	ADDQ    $8, CX
	JNZ     loop
	VZEROUPPER
	RET

// PLANE is the byte distance between the five planes of a ring row:
// ssimPlaneStride (parallel.go) float64 values.
#define PLANE 3136

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
