// germ: fused CUDA kernels for genomic language models, behind a typed, async API.
export { GermError, type GermErrorCode } from './errors';
export { type DType, type HostArray, type HostData, DTYPES, dtypeSize, isFloat } from './dtype';
export { Tensor, leakedTensors } from './tensor';
export * from './ops';
export {
  type BuildInfo,
  type CudaDeviceReport,
  type GpuInfo,
  type GpuStatus,
  type MemoryStats,
  buildInfo,
  cudaDeviceReport,
  defaultDevice,
  devices,
  emptyCache,
  memoryStats,
  numThreads,
  setNumThreads,
  synchronize,
} from './devices';
export { type DeviceCheck, type DoctorOptions, type DoctorReport, doctor } from './doctor';
export { ALIBI_MAX_HEADS, alibiSlopes } from './alibi';
export {
  type AttentionGate,
  type AttentionGrads,
  type AttentionOptions,
  type AttentionSaved,
  type GatedAttentionGrads,
  type GatedAttentionSaved,
  type Normalizer,
  attention,
  attentionBackward,
  attentionForward,
  gatedAttentionBackward,
  gatedAttentionForward,
} from './attention';
export {
  type SafetensorsEntry,
  SafetensorsFile,
  loadSafetensors,
  parseSafetensorsHeader,
  saveSafetensors,
} from './io/safetensors';
export { DEFAULT_MAX_RECORD_LENGTH, type FastaOptions, type FastaRecord, readFasta } from './io/fasta';
export { MAX_CONFIG_BYTES, MAX_TOKENIZER_BYTES } from './io/text';
export { type CsvOptions, type CsvRecord, readCsv } from './io/csv';
export {
  type AddedToken,
  type BatchOptions,
  type DecodeOptions,
  type DnaOptions,
  type EncodeOptions,
  type EncodedBatch,
  type Encoding,
  type KmerOptions,
  type TrainBpeOptions,
  BaseTokenizer,
  BpeTokenizer,
  DEFAULT_SPECIAL_TOKENS,
  DNA_ALPHABET,
  KmerTokenizer,
  normalizeDna,
  trainBpe,
} from './tokenizer';
export { type AttentionNormalizer, CONFIG_LIMITS, type GermConfig, loadConfig, parseConfig } from './io/config';
export { GermModel } from './model/germ_model';
export type {
  Classification,
  EmbedOptions,
  Embedding,
  LoadOptions,
  MaskPrediction,
  ModelInfo,
  RequestOptions,
} from './model/types';
// LoRA (lib/lora/)
export {
  type LoraAdapter,
  type LoraGrads,
  type LoraLinearOptions,
  type MatmulIntoOptions,
  LORA_MAX_RANK,
  LoraLinear,
  catRows,
  loraMerge,
  loraMergeQuantized,
  loraUnmerge,
  matmulInto,
} from './lora';
// outlier statistics (lib/metrics)
export {
  type AbsMaxOver,
  type OutlierStatsResult,
  OutlierStats,
  absMax,
  kurtosis,
  tokenKurtosis,
} from './metrics/outliers';
// quantization (lib/quant)
export {
  NF4_DOUBLE_QUANT_BLOCK,
  NF4_VALUES,
  type Nf4Options,
  Nf4Tensor,
  type QuantBits,
  type QuantGranularity,
  type QuantizeActivationsOptions,
  type QuantizeOptions,
  type QuantizedLinearOptions,
  QuantizedTensor,
  quantize,
  quantizeActivations,
  quantizeNf4,
  quantizedLinear,
  smoothQuantScales,
} from './quant/index';
