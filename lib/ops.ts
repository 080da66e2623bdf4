// Typed ops over Tensors. Each validates what TypeScript can see, then calls
// the addon, which validates shapes, dtypes and devices again and throws a
// GermError naming the op and the shapes. Every op returns at once.
import type { BinaryOpName, NativeTensor, ReduceOpName, UnaryOpName } from '../types/native';
import { type DType, type HostData, boolArg, checkDType, describeValue, finiteArg, optionsArg } from './dtype';
import { GermError } from './errors';
import { native } from './native';
import { Tensor, dimsArg, handleOf, optionalHandle } from './tensor';

export interface TensorOptions {
  /** Element type of the new tensor; by default from the data (number[] -> f32). */
  dtype?: DType;
  /** 'cpu' (default) or 'cuda:N'. */
  device?: string;
}

// Integer ranges of the integer dtypes.
const INT_RANGE: Partial<Record<DType, [number, number]>> = { i32: [-(2 ** 31), 2 ** 31 - 1], i8: [-128, 127], u8: [0, 255] };

/** Round half to even (what cast() rounds float -> integer with). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * number[] -> the host array of `dtype`. Integer dtypes convert as cast()
 * does (cpp/cpu/half.h float_to_i32 / _i8 / _u8): NaN -> 0, round half to
 * even, saturate at the dtype's range; here from the double, so integers past
 * 2^24 stay exact. Every element must be a number.
 */
function hostArrayFor(dtype: DType, data: number[]): Float32Array | Int32Array | Int8Array | Uint8Array {
  const out = dtype === 'i32' ? new Int32Array(data.length) : dtype === 'i8' ? new Int8Array(data.length)
    : dtype === 'u8' ? new Uint8Array(data.length) : new Float32Array(data.length);
  const range = INT_RANGE[dtype];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number')
      throw new GermError(`tensor: data[${i}] must be a number, got ${describeValue(v)}`, 'ERR_INVALID_ARGUMENT');
    out[i] = !range ? v : Number.isNaN(v) ? 0 : Math.min(Math.max(roundHalfEven(v), range[0]), range[1]);
  }
  return out;
}

function sourceDType(data: Exclude<HostData, number[]>, requested: DType | undefined): DType {
  if (data instanceof Float32Array || data instanceof Float64Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Int8Array) return 'i8';
  if (data instanceof Uint8Array) return 'u8';
  if (!(data instanceof Uint16Array))
    throw new GermError(`tensor: data as ${describeValue(data)} is not supported (Float32Array, Float64Array, Int32Array, ` +
      'Int8Array, Uint8Array, Uint16Array or number[])', 'ERR_DTYPE');
  // Uint16Array holds raw 16-bit float patterns, so it needs dtype f16 or bf16.
  if (requested === 'f16' || requested === 'bf16') return requested;
  throw new GermError("tensor: a Uint16Array holds raw f16/bf16 bits; pass { dtype: 'f16' } or { dtype: 'bf16' }",
    'ERR_DTYPE');
}

/**
 * A tensor from host data: a typed array or number[] (row-major), with a
 * shape (default: 1-D). Values convert to `dtype` with one rounding.
 *
 *   const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: 'cuda:0', dtype: 'f16' });
 */
export function tensor(data: HostData, shape?: number[], options?: TensorOptions): Tensor {
  const o = optionsArg(options, 'tensor');
  const dtype = o.dtype === undefined ? undefined : checkDType(o.dtype);
  const device = o.device ?? 'cpu';
  if (!Array.isArray(data) && !ArrayBuffer.isView(data))
    throw new GermError(`tensor: data must be a typed array or an array of numbers, got ${describeValue(data)}`,
      'ERR_INVALID_ARGUMENT');
  const dims = shape === undefined ? [data.length] : dimsArg(shape, 'tensor', 'shape');
  let host: ArrayBufferView;
  let hostDType: DType;
  if (Array.isArray(data)) {
    hostDType = dtype && !['f16', 'bf16'].includes(dtype) ? dtype : 'f32';
    host = hostArrayFor(hostDType, data);
  } else {
    hostDType = sourceDType(data, dtype);
    host = data instanceof Float64Array ? Float32Array.from(data) : data;
  }
  const t = new Tensor(native().fromHost(host, dims, hostDType, device));
  if (!dtype || dtype === hostDType) return t;
  const out = cast(t, dtype);
  t.dispose();
  return out;
}

export function full(shape: number[], value: number, options?: TensorOptions): Tensor {
  const o = optionsArg(options, 'full');
  if (typeof value !== 'number') throw new GermError(`full: value must be a number, got ${describeValue(value)}`, 'ERR_INVALID_ARGUMENT');
  return new Tensor(native().full(dimsArg(shape, 'full', 'shape'), checkDType(o.dtype ?? 'f32'), o.device ?? 'cpu', value));
}
export function zeros(shape: number[], options?: TensorOptions): Tensor {
  return full(shape, 0, options);
}
export function ones(shape: number[], options?: TensorOptions): Tensor {
  return full(shape, 1, options);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  return new Tensor(native().cast(handleOf(x, 'cast', 'x'), checkDType(dtype)));
}

// ---- elementwise
function unary(op: UnaryOpName, x: Tensor, alpha?: number, beta?: number): Tensor {
  const h = handleOf(x, op, 'x');
  for (const [name, v] of [['alpha', alpha], ['beta', beta]] as const)
    if (v !== undefined && typeof v !== 'number')
      throw new GermError(`${op}: ${name} must be a number, got ${describeValue(v)}`, 'ERR_INVALID_ARGUMENT');
  return new Tensor(native().unary(op, h, alpha, beta));
}
function binary(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  return new Tensor(native().binary(op, handleOf(a, op, 'a'), handleOf(b, op, 'b')));
}

/** a + b, broadcasting like NumPy; b may be a number. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? unary('affine', a, 1, b) : binary('add', a, b);
}
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? unary('affine', a, 1, -b) : binary('sub', a, b);
}
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? unary('affine', a, b, 0) : binary('mul', a, b);
}
export function div(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? unary('affine', a, 1 / b, 0) : binary('div', a, b);
}
export function maximum(a: Tensor, b: Tensor): Tensor {
  return binary('maximum', a, b);
}
export function minimum(a: Tensor, b: Tensor): Tensor {
  return binary('minimum', a, b);
}
export function pow(a: Tensor, b: Tensor | number): Tensor {
  return typeof b === 'number' ? unary('powScalar', a, b) : binary('pow', a, b);
}
/** alpha * x + beta in one pass. */
export function affine(x: Tensor, alpha: number, beta: number): Tensor {
  return unary('affine', x, alpha, beta);
}
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  return unary('clamp', x, min, max);
}
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as DNABERT-2 uses. */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
/** The tanh approximation of GELU. */
export const geluTanh = (x: Tensor): Tensor => unary('geluTanh', x);

// ---- reductions: over one axis, or everything when axis is undefined
function reduce(op: ReduceOpName, x: Tensor, axis: number | undefined, keepdim: boolean): Tensor {
  const h = handleOf(x, op, 'x');
  if (axis !== undefined && axis !== null && (typeof axis !== 'number' || !Number.isSafeInteger(axis)))
    throw new GermError(`${op}: axis must be an integer, got ${describeValue(axis)}`, 'ERR_INVALID_ARGUMENT');
  return new Tensor(native().reduce(op, h, axis ?? null, boolArg(keepdim, op, 'keepdim', false)));
}
export const sum = (x: Tensor, axis?: number, keepdim = false): Tensor => reduce('sum', x, axis, keepdim);
export const mean = (x: Tensor, axis?: number, keepdim = false): Tensor => reduce('mean', x, axis, keepdim);
export const max = (x: Tensor, axis?: number, keepdim = false): Tensor => reduce('max', x, axis, keepdim);
export const min = (x: Tensor, axis?: number, keepdim = false): Tensor => reduce('min', x, axis, keepdim);

// ---- matmul
export interface MatmulOptions {
  /** Use a's transpose (of its last two dims). */
  transA?: boolean;
  /** Use b's transpose: b is [n, k], the nn.Linear weight layout. */
  transB?: boolean;
  /** [n], added to every row of the product. */
  bias?: Tensor;
  /** Scales the product (before the bias). */
  alpha?: number;
}

/**
 * a [..., m, k] @ b [..., k, n] (or a 2-D b shared across the batch), f32
 * accumulation. On CUDA, f16 and bf16 run on tensor cores.
 */
export function matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor {
  const o = optionsArg(options, 'matmul');
  return new Tensor(
    native().matmul(handleOf(a, 'matmul', 'a'), handleOf(b, 'matmul', 'b'), optionalHandle(o.bias, 'matmul', 'options.bias'),
      boolArg(o.transA, 'matmul', 'transA', false), boolArg(o.transB, 'matmul', 'transB', false),
      finiteArg(o.alpha, 'matmul', 'alpha', 1)),
  );
}

/** x [..., in] @ weight[out, in]^T + bias[out]: nn.Linear. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native().matmul(handleOf(x, 'linear', 'x'), handleOf(weight, 'linear', 'weight'),
    optionalHandle(bias, 'linear', 'bias'), false, true, 1));
}

// ---- LayerNorm over the last dim
export interface LayerNormResult {
  out: Tensor;
  /** [rows] f32, kept for the backward. */
  mean: Tensor;
  /** [rows] f32: 1 / sqrt(var + eps). */
  rstd: Tensor;
}

function layerNormResult([out, m, r]: [NativeTensor, NativeTensor, NativeTensor]): LayerNormResult {
  return { out: new Tensor(out), mean: new Tensor(m), rstd: new Tensor(r) };
}

/** The tensors and eps of a LayerNorm call, checked. */
function lnArgs(op: string, ts: Record<string, unknown>, eps: unknown): [NativeTensor[], number] {
  return [Object.entries(ts).map(([name, t]) => handleOf(t, op, name)), finiteArg(eps, op, 'eps', 1e-5)];
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): LayerNormResult {
  const [[hx, hw, hb], e] = lnArgs('layerNorm', { x, weight, bias }, eps);
  return layerNormResult(native().layerNorm(hx, hw, hb, e));
}

/**
 * LayerNorm over the last dim of x + residual (same shape and dtype): BERT's
 * post-LN residual, LayerNorm(dense(h) + h), fused so each input is read
 * once. The sum is rounded once to x's dtype, exactly as add(x, residual)
 * would store it, so the result equals layerNorm(add(x, residual), ...); for
 * the backward, pass that sum as x to layerNormBackward (its gradient is also
 * the residual's). (A dense bias is fused in the GEMM instead: linear(h, W, b).)
 */
export function addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): LayerNormResult {
  const [[hx, hr, hw, hb], e] = lnArgs('addLayerNorm', { x, residual, weight, bias }, eps);
  return layerNormResult(native().addLayerNorm(hx, hr, hw, hb, e));
}

/**
 * addLayerNorm for inference: the output alone. Saves nothing for a backward,
 * so there are no mean / rstd tensors to allocate and dispose (per layer of a
 * model, that is two fewer tensors each time).
 */
export function addLayerNormOut(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const [[hx, hr, hw, hb], e] = lnArgs('addLayerNormOut', { x, residual, weight, bias }, eps);
  return new Tensor(native().addLayerNorm(hx, hr, hw, hb, e, false));
}

export interface LayerNormGrads {
  dx: Tensor;
  dweight: Tensor;
  dbias: Tensor;
}

/** Gradients of layerNorm from the saved mean and rstd (dweight, dbias in the weight's dtype). */
export function layerNormBackward(dout: Tensor, x: Tensor, weight: Tensor, saved: { mean: Tensor; rstd: Tensor }): LayerNormGrads {
  const op = 'layerNormBackward';
  const s = optionsArg(saved, op, 'saved');
  const [dx, dw, db] = native().layerNormBackward(handleOf(dout, op, 'dout'), handleOf(x, op, 'x'),
    handleOf(weight, op, 'weight'), handleOf(s.mean, op, 'saved.mean'), handleOf(s.rstd, op, 'saved.rstd'));
  return { dx: new Tensor(dx), dweight: new Tensor(dw), dbias: new Tensor(db) };
}

// ---- BERT encoder pieces

/**
 * Row gather: out[..., :] = table[ids[...], :] for a table [V, H] (f32, f16
 * or bf16) -> [...ids.shape, H] in the table's dtype. The token embedding, or
 * picking rows of hidden states (e.g. each packed sequence's [CLS] token).
 *
 * ids: an i32 Tensor of any shape on the table's device, or host ids
 * (Int32Array or integer number[], giving [n, H]), which are checked here and
 * uploaded to the table's device. An id outside [0, V) is never read: with
 * host ids the call throws GermError ERR_INVALID_ARGUMENT naming the id and
 * its position; with a Tensor of ids (checked where they live, off the main
 * thread) the op fails with that error when its output is read.
 */
export function embedding(table: Tensor, ids: Tensor | Int32Array | number[]): Tensor {
  const t = handleOf(table, 'embedding', 'table');
  if (!(ids instanceof Tensor) && !(ids instanceof Int32Array) && !Array.isArray(ids))
    throw new GermError(`embedding: ids must be an i32 Tensor, an Int32Array or an array of integers, got ${describeValue(ids)}`,
      'ERR_INVALID_ARGUMENT');
  return new Tensor(native().embedding(t, ids instanceof Tensor ? ids.handle : ids));
}

/**
 * GEGLU, DNABERT-2's gated MLP epilogue: x [..., 2I] (the output of
 * mlp.gated_layers), optional bias [2I] -> [..., I] =
 * gelu(x[..., :I] + b[:I]) * (x[..., I:] + b[I:]), with the exact erf GELU
 * (torch nn.GELU() default), f32 math and one rounding into x's dtype. One
 * fused pass; x may be a row-strided view with a contiguous last dim (read in
 * place), other layouts are made contiguous first.
 */
export function geglu(x: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native().geglu(handleOf(x, 'geglu', 'x'), optionalHandle(bias, 'geglu', 'bias')));
}

/**
 * A weight rearranged once, at load, into the layout a fused op reads on its
 * device (packGeglu). Opaque: the layout is the kernel's business, decided
 * natively. Holds its own memory: dispose() it (or `using`) when done.
 */
export class PackedWeight {
  readonly #tensor: Tensor;
  readonly #layout: number;

  /** @internal Wraps a packed tensor and its native layout code; use packGeglu() to make one. */
  constructor(tensor: Tensor, layout: number) {
    this.#tensor = tensor;
    this.#layout = layout;
  }

  /** @internal The packed tensor (its handle throws ERR_DISPOSED after dispose()). */
  get tensor(): Tensor {
    return this.#tensor;
  }
  /** @internal The native layout code the tensor is in. */
  get layout(): number {
    return this.#layout;
  }
  get disposed(): boolean {
    return this.#tensor.disposed;
  }

  dispose(): void {
    this.#tensor.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * DNABERT-2's gated_layers weight [2I, H] (the I gate rows, then the I up
 * rows), packed for linearGeglu on w's device: where the fused GEMM + GEGLU
 * kernel can read it, the rows are interleaved as that kernel wants; else it
 * is w as given. Any I. w may be disposed afterwards.
 */
export function packGeglu(w: Tensor): PackedWeight {
  const [packed, layout] = native().packGeglu(handleOf(w, 'packGeglu', 'w'));
  return new PackedWeight(new Tensor(packed), layout);
}

/**
 * gelu(x Wg^T) * (x Wu^T), the gated MLP's first half: x [..., H] ->
 * [..., I]. w is a packGeglu weight: one GEMM whose epilogue applies GEGLU
 * where the device has that kernel (Hopper), else the GEMM and geglu. The
 * fused path rounds once, from the f32 sums; the unfused one rounds the gate
 * and up sums to x's dtype first. A plain Tensor w is read as it always was:
 * [2I, H] with rows in blocks of 64 gate rows, each followed by the same 64
 * up rows (I a multiple of 64).
 */
export function linearGeglu(x: Tensor, w: Tensor | PackedWeight): Tensor {
  const hx = handleOf(x, 'linearGeglu', 'x');
  if (w instanceof PackedWeight) return new Tensor(native().linearGeglu(hx, w.tensor.handle, w.layout));
  if (!(w instanceof Tensor))
    throw new GermError(`linearGeglu: w must be a PackedWeight (packGeglu) or a Tensor, got ${describeValue(w)}`,
      'ERR_INVALID_ARGUMENT');
  return new Tensor(native().linearGeglu(hx, w.handle));
}
