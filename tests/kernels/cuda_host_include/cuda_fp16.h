// cuda_fp16.h for the host run (tests/kernels/cuda_host.h): the half type as 16 bits, and the
// conversions a kernel of ours uses (round to nearest even, as cvt.rn). Only what minigrad's
// kernels use: no arithmetic on __half.
#pragma once

struct __half { unsigned short x; };
inline __half __float2half(float v) { return __half{mg::float_to_half_bits(v, false)}; }
inline __half __float2half_rn(float v) { return __float2half(v); }
inline float __half2float(__half h) { return mg::half_bits_to_float(h.x, false); }
