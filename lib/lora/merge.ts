// Merge and unmerge: W += (alpha / r) B A and W -= (alpha / r) B A, in place.
//
// One pass over W (addLowRankInto: the rank-r update, r <= 128; a larger
// rank takes the GEMM with beta = 1): each element of W is read once, updated
// in f32 and rounded once into W's dtype.
// Because of that rounding, merge then unmerge is not bit-exact in f16 / bf16:
// each step can move an element by half a unit in the last place of its new
// value, so |W'' - W| <= u (|W'| + |W''|) (u = 2^-11 f16, 2^-8 bf16) plus the
// f32 error of B A; keep an unmerged copy of W if you need it back exactly.
import type { Tensor } from '../tensor';
import { LORA_MAX_RANK, type LoraAdapter, checkAdapter } from './adapter';
import { addLowRankInto, matmulInto } from './ops';

function update(op: string, weight: Tensor, adapter: LoraAdapter, sign: 1 | -1): Tensor {
  const { scale, rank } = checkAdapter(op, weight, adapter);
  if (rank <= LORA_MAX_RANK) return addLowRankInto(weight, adapter.A, adapter.B, sign * scale);
  return matmulInto(weight, adapter.B, adapter.A, { alpha: sign * scale, beta: 1 });
}

/**
 * W += (alpha / r) B A, written into W's memory (W [out, in] with a unit
 * column stride, not overlapping A or B; f32, f16 or bf16). Returns W.
 */
export function loraMerge(weight: Tensor, adapter: LoraAdapter): Tensor {
  return update('loraMerge', weight, adapter, 1);
}

/** W -= (alpha / r) B A in place: undoes loraMerge up to one rounding per step (see above). Returns W. */
export function loraUnmerge(weight: Tensor, adapter: LoraAdapter): Tensor {
  return update('loraUnmerge', weight, adapter, -1);
}
