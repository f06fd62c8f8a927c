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
