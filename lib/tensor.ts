// The Tensor class: a typed handle on native memory (cpu or cuda:N).
//
// Ops return at once with a new Tensor whose contents are computed on the
// device's executor, in issue order, off the main thread; `await t.data()` is
// where JavaScript waits. Free memory with dispose() (or `using`); a
// FinalizationRegistry frees what was forgotten when it is collected, and
// counts it (leakedTensors()) so tests and services can spot leaks.
import type { NativeTensor } from '../types/native';
import { type DType, type HostArray, describeValue } from './dtype';
import { GermError } from './errors';
import { native } from './native';
import * as ops from './ops';

let leaked = 0;
const registry = new FinalizationRegistry<NativeTensor>((handle) => {
  if (!handle.disposed) {
    leaked++;
    handle.dispose();
  }
});

/** Tensors freed by the garbage collector instead of dispose(). */
export function leakedTensors(): number {
  return leaked;
}

function normalizeDim(dim: number, ndim: number, what = 'dim'): number {
  if (typeof dim !== 'number')
    throw new GermError(`${what} must be an integer, got ${describeValue(dim)}`, 'ERR_INVALID_ARGUMENT');
  const d = dim < 0 ? dim + ndim : dim;
  if (!Number.isInteger(d) || d < 0 || d >= ndim)
    throw new GermError(`${what} ${dim} out of range for ${ndim} dims`, 'ERR_SHAPE');
  return d;
}

/**
 * A list of dims (a shape, a permutation): an array of numbers, else
 * ERR_INVALID_ARGUMENT naming it (a number that is no valid dim is ERR_SHAPE,
 * where the dims are used).
 */
export function dimsArg(v: unknown, op: string, name: string): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number'))
    throw new GermError(`${op}: ${name} must be an array of integers, got ${describeValue(v)}`, 'ERR_INVALID_ARGUMENT');
  return v;
}

export class Tensor {
  #handle: NativeTensor | null;
  // A handle's shape and dtype never change; reading them through N-API costs
  // about a microsecond each, and model code reads them on every op, so they
  // are fetched once.
  #shape: readonly number[] | undefined;
  #strides: readonly number[] | undefined;
  #offset: number | undefined;
  #dtype: DType | undefined;

  /** @internal Wraps a native handle; use tensor(), zeros() ... to make one. */
  constructor(handle: NativeTensor) {
    this.#handle = handle;
    registry.register(this, handle, this);
  }

  /** @internal The native handle; throws ERR_DISPOSED after dispose(). */
  get handle(): NativeTensor {
    if (!this.#handle) throw new GermError('tensor used after dispose()', 'ERR_DISPOSED');
    return this.#handle;
  }

  get shape(): number[] {
    return this.#shapeOf().slice();
  }
  get strides(): number[] {
    return this.#stridesOf().slice();
  }
  /** @internal Element offset of this view into its storage. */
  get offset(): number {
    const handle = this.handle;
    return (this.#offset ??= handle.offset);
  }
  get dtype(): DType {
    return (this.#dtype ??= this.handle.dtype);
  }
  get device(): string {
    return this.handle.device;
  }
  get ndim(): number {
    return this.#shapeOf().length;
  }
  /** Number of elements. */
  get size(): number {
    return this.#shapeOf().reduce((a, b) => a * b, 1);
  }

  #shapeOf(): readonly number[] {
    const handle = this.handle;  // throws ERR_DISPOSED first
    return (this.#shape ??= handle.shape);
  }
  #stridesOf(): readonly number[] {
    const handle = this.handle;
    return (this.#strides ??= handle.strides);
  }
  get disposed(): boolean {
    return this.#handle === null;
  }

  /** Frees this handle's reference now; queued work that uses it still completes. */
  dispose(): void {
    if (!this.#handle) return;
    registry.unregister(this);
    this.#handle.dispose();
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The elements, row-major: Float32Array for f32, f16 and bf16 (widened
   * exactly), Int32Array, Int8Array or Uint8Array for the integer dtypes.
   */
  async data<D extends DType = DType>(): Promise<HostArray<D>> {
    if (this.dtype === 'f16' || this.dtype === 'bf16') {
      const wide = ops.cast(this, 'f32');
      try {
        return (await wide.data()) as HostArray<D>;
      } finally {
        wide.dispose();
      }
    }
    const buf = await this.handle.read();
    switch (this.dtype) {
      case 'i32':
        return new Int32Array(buf) as HostArray<D>;
      case 'i8':
        return new Int8Array(buf) as HostArray<D>;
      case 'u8':
        return new Uint8Array(buf) as HostArray<D>;
      default:
        return new Float32Array(buf) as HostArray<D>;
    }
  }

  /** The raw bytes in the tensor's dtype (f16 / bf16 as their 16-bit patterns). */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.handle.read());
  }

  /** A copy on another device (sharing memory when it is already there). */
  to(device: string): Tensor {
    return new Tensor(native().toDevice(this.handle, device));
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  contiguous(): Tensor {
    return new Tensor(native().contiguous(this.handle));
  }
  clone(): Tensor {
    return new Tensor(native().unary('identity', this.handle));
  }

  // ---- views: no copy, share memory with this tensor
  /** Same elements, new shape (-1 infers one dim). Copies only if not contiguous. */
  reshape(shape: number[]): Tensor {
    dimsArg(shape, 'reshape', 'shape');
    const size = this.size;
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const infer = shape.filter((d) => d === -1).length;
    const full = shape.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
    if (infer > 1 || full.some((d) => !Number.isInteger(d) || d < 0) || full.reduce((a, b) => a * b, 1) !== size)
      throw new GermError(`reshape: cannot view [${this.shape}] (${size} elements) as [${shape}]`, 'ERR_SHAPE');
    const base = isContiguous(this) ? this.handle : native().contiguous(this.handle);
    const strides = contiguousStrides(full);
    const v = native().view(base, full, strides, base === this.handle ? this.offset : 0);
    return new Tensor(v);
  }
  /** Swaps two dims (default: the last two). */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const n = this.ndim;
    const a = normalizeDim(dim0, n), b = normalizeDim(dim1, n);
    const order = [...Array(n).keys()];
    [order[a], order[b]] = [order[b], order[a]];
    return this.permute(order);
  }
  permute(order: number[]): Tensor {
    dimsArg(order, 'permute', 'order');
    const n = this.ndim;
    const dims = order.map((d) => normalizeDim(d, n));
    if (dims.length !== n || new Set(dims).size !== n)
      throw new GermError(`permute: [${order}] is not a permutation of ${n} dims`, 'ERR_SHAPE');
    const shape = this.#shapeOf(), strides = this.#stridesOf();
    return new Tensor(native().view(this.handle, dims.map((d) => shape[d]), dims.map((d) => strides[d]), this.offset));
  }
  /** Elements start .. start+length-1 along dim. */
  narrow(dim: number, start: number, length: number): Tensor {
    const shape = [...this.#shapeOf()], strides = this.#stridesOf();
    const d = normalizeDim(dim, shape.length);
    for (const [name, v] of [['start', start], ['length', length]] as const)
      if (typeof v !== 'number')
        throw new GermError(`narrow: ${name} must be an integer, got ${describeValue(v)}`, 'ERR_INVALID_ARGUMENT');
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > shape[d])
      throw new GermError(`narrow: [${start}, ${start + length}) outside dim ${d} of size ${shape[d]}`, 'ERR_SHAPE');
    shape[d] = length;
    return new Tensor(native().view(this.handle, shape, [...strides], this.offset + start * strides[d]));
  }
  /**
   * @internal Dim `dim` split into `sizes` (their product must be its size;
   * [] drops a dim of size 1): always a view, whatever the strides, unlike
   * reshape, which copies a non-contiguous tensor.
   */
  unflatten(dim: number, sizes: number[]): Tensor {
    dimsArg(sizes, 'unflatten', 'sizes');
    const shape = [...this.#shapeOf()], strides = [...this.#stridesOf()];
    const d = normalizeDim(dim, shape.length);
    if (sizes.some((n) => !Number.isInteger(n) || n < 0) || sizes.reduce((a, b) => a * b, 1) !== shape[d])
      throw new GermError(`unflatten: [${sizes}] does not split dim ${d} of size ${shape[d]}`, 'ERR_SHAPE');
    const inner = sizes.map((_, i) => strides[d] * sizes.slice(i + 1).reduce((a, b) => a * b, 1));
    shape.splice(d, 1, ...sizes);
    strides.splice(d, 1, ...inner);
    return new Tensor(native().view(this.handle, shape, strides, this.offset));
  }
  /** @internal A second handle on the same view: disposing either leaves the other's memory alive. */
  alias(): Tensor {
    return new Tensor(native().view(this.handle, this.shape, this.strides, this.offset));
  }
  unsqueeze(dim: number): Tensor {
    const shape = [...this.#shapeOf()], strides = [...this.#stridesOf()];
    const n = shape.length;
    const d = normalizeDim(dim, n + 1);
    strides.splice(d, 0, d < n ? strides[d] * shape[d] : 1);
    shape.splice(d, 0, 1);
    return new Tensor(native().view(this.handle, shape, strides, this.offset));
  }

  // ---- math (see ops.ts)
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }
  matmul(other: Tensor, options?: ops.MatmulOptions): Tensor {
    return ops.matmul(this, other, options);
  }
  sum(axis?: number, keepdim = false): Tensor {
    return ops.sum(this, axis, keepdim);
  }
  mean(axis?: number, keepdim = false): Tensor {
    return ops.mean(this, axis, keepdim);
  }
  max(axis?: number, keepdim = false): Tensor {
    return ops.max(this, axis, keepdim);
  }
  min(axis?: number, keepdim = false): Tensor {
    return ops.min(this, axis, keepdim);
  }

  toString(): string {
    return this.#handle ? `Tensor(${this.dtype} [${this.shape}] on ${this.device})` : 'Tensor(disposed)';
  }
}

// ---- Tensor arguments: every op unwraps its Tensor arguments through these,
// so a wrong value is a GermError naming the op and the argument, never a
// TypeError from reading `.handle` of it.

/** t itself when it is a Tensor, else GermError ERR_INVALID_ARGUMENT naming `op: name`. */
export function tensorArg(t: unknown, op: string, name: string): Tensor {
  if (t instanceof Tensor) return t;
  throw new GermError(`${op}: ${name} must be a Tensor, got ${describeValue(t)}`, 'ERR_INVALID_ARGUMENT');
}

/** @internal The native handle of a Tensor argument (ERR_DISPOSED after dispose()). */
export function handleOf(t: unknown, op: string, name: string): NativeTensor {
  return tensorArg(t, op, name).handle;
}

/** @internal handleOf for an optional Tensor: undefined or null give null; anything else must be a Tensor. */
export function optionalHandle(t: unknown, op: string, name: string): NativeTensor | null {
  return t === undefined || t === null ? null : handleOf(t, op, name);
}

export function contiguousStrides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function isContiguous(t: Tensor): boolean {
  const { shape, strides } = t;
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

