// The typed surface of the native addon (cpp/napi/bindings.cc): the one
// boundary between TypeScript and C++. lib/ wraps it; users never see it.

export type DTypeName = 'f32' | 'f16' | 'bf16' | 'i8' | 'i32' | 'u8';

export type UnaryOpName =
  | 'identity' | 'affine' | 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'reciprocal' | 'square'
  | 'tanh' | 'sigmoid' | 'relu' | 'silu' | 'gelu' | 'geluTanh' | 'powScalar' | 'clamp';
export type BinaryOpName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';
export type ReduceOpName = 'sum' | 'mean' | 'max' | 'min';

export interface NativeTensor {
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
  readonly dtype: DTypeName;
  readonly device: string;
  readonly disposed: boolean;
  dispose(): void;
  /** The elements, row-major, in the tensor's own dtype. */
  read(): Promise<ArrayBuffer>;
}

export interface NativeDeviceInfo {
  device: string;
  name: string;
  computeCapability: [number, number];
  totalMemory: number;
  multiprocessors: number;
}

export interface NativeMemoryStats {
  allocatedBytes: number;
  reservedBytes: number;
  peakAllocatedBytes: number;
  allocCalls: number;
  deviceAllocCalls: number;
}

/** Why a GPU is or is not used (cpp/backend/cuda_status.h). */
export type NativeGpuStatus = 'ok' | 'no-cuda-build' | 'no-driver' | 'driver-too-old' | 'no-device' | 'unsupported-gpu';

export interface NativeBuildInfo {
  cuda: boolean;
  cudaArchitectures: string;
  /** As the driver reports, usable or not. */
  cudaDeviceCount: number;
  /** The CUDA runtime built in, '12.4'; null without CUDA. */
  cudaRuntimeVersion: string | null;
  /** The newest CUDA the driver supports, '13.0'; null without a driver. */
  driverCudaVersion: string | null;
  gpuStatus: NativeGpuStatus;
  /** Why no GPU is used; null when gpuStatus is 'ok'. */
  gpuReason: string | null;
  /** The CPU kernels in use: 'avx2+fma' or 'generic'. */
  cpuIsa: string;
}

/** A driver-visible CUDA device, usable or not. */
export interface NativeCudaDeviceReport extends NativeDeviceInfo {
  usable: boolean;
  /** Why this binary cannot use it; null when usable. */
  reason: string | null;
}

/** What the user gave; an absent option keeps cpp/ops/ops.h's default. */
export interface NativeAttentionOptions {
  normalizer?: 'softmax1' | 'softmax' | 'clipped';
  scale?: number;
  causal?: boolean;
  /** true: the slopes alibiSlopes(heads) gives, derived natively; or the slopes' f32 [heads] tensor. */
  alibi?: true | NativeTensor | null;
  alibiSymmetric?: boolean;
  clipZeta?: number;
  clipGamma?: number;
  dropout?: number;
  seed?: number;
  cuSeqlens?: Int32Array | number[];
  cuSeqlensK?: Int32Array | number[];
  lengths?: Int32Array | number[];
}

// ---- quantization (cpp/napi/quant_bindings.cc)
export type NativeQuantGranularity = 'tensor' | 'channel' | 'token' | 'group';
export interface NativeQuantOptions {
  bits?: number;
  symmetric?: boolean;
  granularity?: NativeQuantGranularity;
  groupSize?: number;
}

// ---- quantized GEMMs (cpp/napi/qgemm_bindings.cc)
export interface NativeQLinearOptions {
  bias?: NativeTensor | null;
  gelu?: boolean;
  outDtype: DTypeName;
}
/** A 4-bit weight [n, k] as lib/quant stores it (NF4: scale is the absmax, f32 or u8 codes). */
export interface NativeW4Weight {
  format: 'int4' | 'nf4';
  q: NativeTensor;
  scale: NativeTensor;
  zero?: NativeTensor | null;
  absmax2?: NativeTensor | null;
  offset?: NativeTensor | null;
  granularity?: NativeQuantGranularity;
  /** int4: the group size (any value for tensor / channel); NF4: the block size */
  groupSize: number;
  shape: number[];
}

export interface NativeAddon {
  NativeTensor: Function;
  setErrorClass(ctor: new (message: string, code: never) => Error): void;
  buildInfo(): NativeBuildInfo;
  /** The CPU, then each usable CUDA device. */
  devices(): NativeDeviceInfo[];
  /** Every CUDA device the driver lists, usable or not. */
  cudaDeviceReport(): NativeCudaDeviceReport[];
  memoryStats(device: string): NativeMemoryStats;
  emptyCache(device: string): void;
  setNumThreads(n: number): void;
  numThreads(): number;
  synchronize(device: string): Promise<void>;

  fromHost(data: ArrayBufferView, shape: number[], dtype: DTypeName, device: string): NativeTensor;
  full(shape: number[], dtype: DTypeName, device: string, value: number): NativeTensor;
  view(t: NativeTensor, shape: number[], strides: number[], offset: number): NativeTensor;
  contiguous(t: NativeTensor): NativeTensor;
  cast(t: NativeTensor, dtype: DTypeName): NativeTensor;
  toDevice(t: NativeTensor, device: string): NativeTensor;

  unary(op: UnaryOpName, x: NativeTensor, alpha?: number, beta?: number): NativeTensor;
  binary(op: BinaryOpName, a: NativeTensor, b: NativeTensor): NativeTensor;
  reduce(op: ReduceOpName, x: NativeTensor, axis: number | null, keepdim: boolean): NativeTensor;
  matmul(a: NativeTensor, b: NativeTensor, bias: NativeTensor | null, transA: boolean, transB: boolean,
         alpha: number): NativeTensor;
  layerNorm(x: NativeTensor, weight: NativeTensor, bias: NativeTensor, eps: number): [NativeTensor, NativeTensor, NativeTensor];
  addLayerNorm(x: NativeTensor, residual: NativeTensor, weight: NativeTensor, bias: NativeTensor,
               eps: number, stats?: true): [NativeTensor, NativeTensor, NativeTensor];
  /** stats false: inference, the normalised output alone (no mean / rstd saved). */
  addLayerNorm(x: NativeTensor, residual: NativeTensor, weight: NativeTensor, bias: NativeTensor,
               eps: number, stats: false): NativeTensor;
  /** ids: an i32 tensor on the table's device, or host ids (checked, then uploaded). */
  embedding(table: NativeTensor, ids: NativeTensor | Int32Array | number[]): NativeTensor;
  geglu(x: NativeTensor, bias: NativeTensor | null): NativeTensor;
  /**
   * gelu(x Wg^T) * (x Wu^T) from w in `layout` (the code packGeglu returned with
   * it); without one, w's rows are in the fused kernel's blocked layout.
   */
  linearGeglu(x: NativeTensor, w: NativeTensor, layout?: number): NativeTensor;
  /** [Wg; Wu] [2I, H] -> [the weight linearGeglu reads, its layout code]. */
  packGeglu(w: NativeTensor): [NativeTensor, number];
  /** ALiBi slopes of `heads` heads, f32. */
  alibiSlopes(heads: number): Float32Array;
  attentionForward(q: NativeTensor, k: NativeTensor, v: NativeTensor, opts: NativeAttentionOptions): [NativeTensor, NativeTensor];
  attentionBackward(dout: NativeTensor, q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor,
                    lse: NativeTensor, opts: NativeAttentionOptions): [NativeTensor, NativeTensor, NativeTensor];
  layerNormBackward(dout: NativeTensor, x: NativeTensor, weight: NativeTensor, mean: NativeTensor,
                    rstd: NativeTensor): [NativeTensor, NativeTensor, NativeTensor];
  // in-place GEMM and row concatenation (LoRA's building blocks)
  /** out = alpha * op(a) @ op(b) + beta * out, written into out's memory. */
  matmulInto(out: NativeTensor, a: NativeTensor, b: NativeTensor, transA: boolean, transB: boolean, alpha: number,
             beta: number): void;
  catRows(parts: NativeTensor[]): NativeTensor;
  /** weight += scale * B @ A in place (r = A's rows, 1..128). */
  loraMerge(weight: NativeTensor, A: NativeTensor, B: NativeTensor, scale: number): void;
  /**
   * x [M, in], stacked [W; A] [out + r, in], bias [out + r] or null, B [out, r] ->
   * [M, out + r]: x W^T + b + scale (x A^T) B^T, then x A^T.
   */
  loraForward(x: NativeTensor, stacked: NativeTensor, bias: NativeTensor | null, B: NativeTensor, rank: number,
              scale: number): NativeTensor;

  // --- outlier statistics (lib/metrics). x float [..., C]; state: null or
  // the u8 [64] state (8 f64: n, mean, M2, M3, M4, tokens, sum of token
  // kurtoses, max |x|) a previous call returned, which it merges into.
  outlierStats(x: NativeTensor, state: NativeTensor | null): [state: NativeTensor, tokenKurtosis: NativeTensor,
    tokenAbsMax: NativeTensor, channelAbsMax: NativeTensor];

  // quantization
  quantize(x: NativeTensor, opts: NativeQuantOptions & { clip?: number | NativeTensor | null }):
    [NativeTensor, NativeTensor, NativeTensor | null];
  dequantize(q: NativeTensor, scale: NativeTensor, zero: NativeTensor | null,
             opts: NativeQuantOptions & { shape: number[]; dtype: DTypeName }): NativeTensor;
  quantizeNf4(x: NativeTensor, blockSize: number, doubleQuant: boolean):
    [NativeTensor, NativeTensor, NativeTensor | null, NativeTensor | null];
  dequantizeNf4(codes: NativeTensor, absmax: NativeTensor, absmax2: NativeTensor | null, offset: NativeTensor | null,
                blockSize: number, shape: number[], dtype: DTypeName): NativeTensor;

  // quantized GEMMs
  /** Per-token symmetric codes of x / smooth: [q (i8 like x; 4-bit: u8 packed), scale f32 [...leading]]. */
  quantizeTokens(x: NativeTensor, smooth: NativeTensor | null, bits: number): [NativeTensor, NativeTensor];
  /** Integer GEMM: bits 8 (i8 codes; W8A8 / W6A6) or 4 (packed nibbles; W4A4), k values per row. */
  qlinearInt(xq: NativeTensor, sx: NativeTensor, wq: NativeTensor, sw: NativeTensor, bits: number, k: number,
             opts: NativeQLinearOptions): NativeTensor;
  qlinearW4(x: NativeTensor, w: NativeW4Weight, opts: NativeQLinearOptions): NativeTensor;
}
