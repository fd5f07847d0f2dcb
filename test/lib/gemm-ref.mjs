// SPDX-License-Identifier: Apache-2.0
// Reference pieces shared by the GEMM tests (native-gemm, native-bf16, bf16-wire): the addon's
// activation codes and their float64 reference, and f32 -> bf16 rounding as VCVTNEPS2BF16 does it.

/** Activation codes of the addon's epilogue (native/ops/op_codes.h). */
export const ACT = {linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, prelu: 5, sigmoid: 6};

/** The activation `act` applied to y in float64 (alpha: leakyrelu's slope, s: prelu's). */
export function actRef(y, act, alpha, s) {
  switch (act) {
    case ACT.relu: return Math.max(0, y);
    case ACT.relu6: return Math.min(6, Math.max(0, y));
    case ACT.elu: return y >= 0 ? y : Math.expm1(y);
    case ACT.leakyrelu: return y < 0 ? alpha * y : y;
    case ACT.prelu: return y < 0 ? s * y : y;
    case ACT.sigmoid: return 1 / (1 + Math.exp(-y));
    default: return y;
  }
}

// f32 -> bf16 bits (VCVTNEPS2BF16: RNE, denormals -> signed zero, NaN quieted) and back.
const f1 = new Float32Array(1), u1 = new Uint32Array(f1.buffer);
export function bf16Bits(x) {
  f1[0] = x;
  const u = u1[0];
  if ((u & 0x7f800000) === 0) return (u >>> 16) & 0x8000;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
/** x rounded to bf16, as a number. */
export function bf(x) {
  u1[0] = bf16Bits(x) << 16;
  return f1[0];
}
/** x rounded to bf16 toward zero (denormals to signed zero): a wrong conversion, for mutation checks. */
export function bfTrunc(x) {
  f1[0] = x;
  u1[0] = (u1[0] & 0x7f800000) === 0 ? u1[0] & 0x80000000 : u1[0] & 0xffff0000;
  return f1[0];
}
