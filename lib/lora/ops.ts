// The ops LoRA is built from: an in-place GEMM and its rank-r special case
// (the ops that write into an existing tensor), and row concatenation.
import { boolArg, describeValue, finiteArg, optionsArg } from '../dtype';
import { GermError } from '../errors';
import { native } from '../native';
import { Tensor, handleOf, optionalHandle } from '../tensor';

export interface MatmulIntoOptions {
  /** Use a's transpose. */
  transA?: boolean;
  /** Use b's transpose: b is [n, k], the nn.Linear weight layout. */
  transB?: boolean;
  /** Scales the product (default 1). */
  alpha?: number;
  /** Scales out's old contents (default 1: accumulate; 0 overwrites without reading). */
  beta?: number;
}

/**
 * out = alpha * op(a) @ op(b) + beta * out, written into out's own memory
 * (2-D operands, one float dtype, one device). f32 accumulation and one
 * rounding per element, as in matmul. out needs a unit column stride (a
 * column slice of a wider tensor is fine); a and b must not overlap out's
 * elements (ERR_INVALID_ARGUMENT). Every view of out's memory sees the
 * result; ops queued earlier that read it still see the old values, on any
 * device. Returns out.
 */
export function matmulInto(out: Tensor, a: Tensor, b: Tensor, options?: MatmulIntoOptions): Tensor {
  const op = 'matmulInto', o = optionsArg(options, op);
  native().matmulInto(handleOf(out, op, 'out'), handleOf(a, op, 'a'), handleOf(b, op, 'b'),
    boolArg(o.transA, op, 'transA', false), boolArg(o.transB, op, 'transB', false), finiteArg(o.alpha, op, 'alpha', 1),
    finiteArg(o.beta, op, 'beta', 1));
  return out;
}

/**
 * weight += scale * B @ A in place (weight [out, in], A [r, in], B [out, r],
 * r up to 128): matmulInto(weight, B, A, {alpha: scale, beta: 1})'s result
 * (f32 sums over r, one rounding per element), in one pass over weight. Same
 * layout and aliasing rules as matmulInto. Returns weight.
 */
export function addLowRankInto(weight: Tensor, A: Tensor, B: Tensor, scale: number): Tensor {
  const op = 'addLowRankInto';
  native().loraMerge(handleOf(weight, op, 'weight'), handleOf(A, op, 'A'), handleOf(B, op, 'B'), finiteArg(scale, op, 'scale'));
  return weight;
}

/** Stacks tensors along dim 0 (same dtype, device and trailing dims) into a new contiguous tensor. */
export function catRows(parts: Tensor[]): Tensor {
  if (!Array.isArray(parts))
    throw new GermError(`catRows: parts must be an array of Tensors, got ${describeValue(parts)}`, 'ERR_INVALID_ARGUMENT');
  return new Tensor(native().catRows(parts.map((p, i) => handleOf(p, 'catRows', `parts[${i}]`))));
}

/**
 * @internal LoraLinear's forward: x [M, in], stacked [W; A] [out + r, in],
 * bias [out + r] or null, B [out, r] -> [M, out + r] holding x W^T + b +
 * scale (x A^T) B^T, then x A^T (cpp/ops/ops.h lora_forward).
 */
export function loraForward(x: Tensor, stacked: Tensor, bias: Tensor | null, B: Tensor, rank: number, scale: number): Tensor {
  const op = 'loraForward';
  return new Tensor(native().loraForward(handleOf(x, op, 'x'), handleOf(stacked, op, 'stacked'),
    optionalHandle(bias, op, 'bias'), handleOf(B, op, 'B'), rank, scale));
}
