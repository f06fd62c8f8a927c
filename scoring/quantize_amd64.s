//go:build amd64 && !purego

#include "textflag.h"

// Byte shuffles of quantizeAVX2 (see there).
// lowBytes: the low byte of each dword of a 128-bit lane to the lane's bytes 0..3.
DATA qLowBytes<>+0(SB)/8, $0x808080800c080400
DATA qLowBytes<>+8(SB)/8, $0x8080808080808080
DATA qLowBytes<>+16(SB)/8, $0x808080800c080400
DATA qLowBytes<>+24(SB)/8, $0x8080808080808080
GLOBL qLowBytes<>(SB), RODATA|NOPTR, $32
// gather: dword 0 of lane 0 and dword 0 of lane 1 (= dword 4) to dwords 0, 1.
DATA qGather<>+0(SB)/4, $0
DATA qGather<>+4(SB)/4, $4
DATA qGather<>+8(SB)/4, $1
DATA qGather<>+12(SB)/4, $5
DATA qGather<>+16(SB)/4, $2
DATA qGather<>+20(SB)/4, $6
DATA qGather<>+24(SB)/4, $3
DATA qGather<>+28(SB)/4, $7
GLOBL qGather<>(SB), RODATA|NOPTR, $32
// From RG = R0..R7 G0..G7 and B = B0..B7: output bytes 0..15
// (R0 G0 B0 R1 G1 B1 R2 G2 B2 R3 G3 B3 R4 G4 B4 R5) and 16..23
// (G5 B5 R6 G6 B6 R7 G7 B7); 0x80 zeroes a byte.
DATA qRG0<>+0(SB)/8, $0x0a02800901800800
DATA qRG0<>+8(SB)/8, $0x05800c04800b0380
GLOBL qRG0<>(SB), RODATA|NOPTR, $16
DATA qB0<>+0(SB)/8, $0x8080018080008080
DATA qB0<>+8(SB)/8, $0x8004808003808002
GLOBL qB0<>(SB), RODATA|NOPTR, $16
DATA qRG1<>+0(SB)/8, $0x800f07800e06800d
DATA qRG1<>+8(SB)/8, $0x8080808080808080
GLOBL qRG1<>(SB), RODATA|NOPTR, $16
DATA qB1<>+0(SB)/8, $0x0780800680800580
DATA qB1<>+8(SB)/8, $0x8080808080808080
GLOBL qB1<>(SB), RODATA|NOPTR, $16

// func quantizeAVX2(dst *uint8, p0, p1, p2 *float32, n int, dataRange float32, div bool) (finite bool)
//
// For i < n (a positive multiple of 8): dst[3i+c] = quantizeFast(p_c[i],
// dataRange) for the planes p_0, p_1, p_2, eight pixels at a
// time: the same float32 operations in the same order (clamp to
// [0, dataRange] with max then min, ×255, ÷dataRange when div, + 2²³, the
// sum's low byte), so the bytes are identical. finite is false when some
// value is NaN or ±Inf (v−v is +0 for every finite v and NaN otherwise:
// the OR of all of them is 0 exactly when all are finite); dst is then
// unspecified.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-49
	MOVQ dst+0(FP), DI
	MOVQ p0+8(FP), R8
	MOVQ p1+16(FP), R9
	MOVQ p2+24(FP), R10
	MOVQ n+32(FP), CX
	VBROADCASTSS dataRange+40(FP), Y14
	MOVBLZX div+44(FP), DX
	MOVL $0x437f0000, AX // 255
	VMOVD AX, X13
	VBROADCASTSS X13, Y13
	MOVL $0x4b000000, AX // 2^23
	VMOVD AX, X12
	VBROADCASTSS X12, Y12
	VMOVDQU qLowBytes<>(SB), Y10
	VMOVDQU qGather<>(SB), Y9
	VMOVDQU qRG0<>(SB), X8
	VMOVDQU qB0<>(SB), X7
	VMOVDQU qRG1<>(SB), X6
	VMOVDQU qB1<>(SB), X5
	VXORPS Y15, Y15, Y15 // 0
	VXORPS Y11, Y11, Y11 // OR of every v−v
	XORQ SI, SI

loop:
	VMOVUPS (R8)(SI*4), Y0
	VMOVUPS (R9)(SI*4), Y1
	VMOVUPS (R10)(SI*4), Y2
	VSUBPS Y0, Y0, Y3
	VORPS  Y3, Y11, Y11
	VSUBPS Y1, Y1, Y3
	VORPS  Y3, Y11, Y11
	VSUBPS Y2, Y2, Y3
	VORPS  Y3, Y11, Y11
	// min(max(v, 0), dataRange)
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y1, Y1
	VMAXPS Y15, Y2, Y2
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y1, Y1
	VMINPS Y14, Y2, Y2
	VMULPS Y13, Y0, Y0
	VMULPS Y13, Y1, Y1
	VMULPS Y13, Y2, Y2
	TESTQ DX, DX
	JZ nodiv
	VDIVPS Y14, Y0, Y0
	VDIVPS Y14, Y1, Y1
	VDIVPS Y14, Y2, Y2

nodiv:
	VADDPS Y12, Y0, Y0
	VADDPS Y12, Y1, Y1
	VADDPS Y12, Y2, Y2
	// Each value's low byte, eight per plane, into the low 8 bytes.
	VPSHUFB Y10, Y0, Y0
	VPSHUFB Y10, Y1, Y1
	VPSHUFB Y10, Y2, Y2
	VPERMD Y0, Y9, Y0
	VPERMD Y1, Y9, Y1
	VPERMD Y2, Y9, Y2
	// Interleave to R G B R G B …
	VPUNPCKLQDQ X1, X0, X3 // R0..R7 G0..G7
	VPSHUFB X8, X3, X4
	VPSHUFB X7, X2, X0
	VPOR X0, X4, X4
	VMOVDQU X4, (DI)
	VPSHUFB X6, X3, X4
	VPSHUFB X5, X2, X0
	VPOR X0, X4, X4
	VMOVQ X4, 16(DI)
	ADDQ $24, DI
	ADDQ $8, SI
	CMPQ SI, CX
	JLT loop

	VPTEST Y11, Y11
	SETEQ AX
	MOVB AX, finite+48(FP)
	VZEROUPPER
	RET
