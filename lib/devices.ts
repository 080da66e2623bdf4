// What hardware germ sees, why a GPU is or is not used, and per-device memory
// and synchronisation.
import type { NativeDeviceInfo, NativeGpuStatus } from '../types/native';
import { native } from './native';

export interface GpuInfo {
  /** 'cuda:0', 'cuda:1', ... */
  device: string;
  name: string;
  /** e.g. '7.5' for an RTX 2080 Ti, '9.0' for an H100. */
  computeCapability: string;
  /** Bytes of device memory. */
  totalMemory: number;
  multiprocessors: number;
}

function gpuInfo(d: NativeDeviceInfo): GpuInfo {
  return {
    device: d.device,
    name: d.name,
    computeCapability: `${d.computeCapability[0]}.${d.computeCapability[1]}`,
    totalMemory: d.totalMemory,
    multiprocessors: d.multiprocessors,
  };
}

/** The CUDA GPUs germ can use; empty without a GPU, a driver, or a CUDA build (buildInfo().gpuReason says which). */
export function devices(): GpuInfo[] {
  return native()
    .devices()
    .filter((d) => d.device !== 'cpu')
    .map(gpuInfo);
}

/** A CUDA device the driver lists, whether or not this binary can run on it. */
export interface CudaDeviceReport extends GpuInfo {
  usable: boolean;
  /** Why it cannot be used (e.g. its architecture is not in the binary); null when usable. */
  reason: string | null;
}

/** Every CUDA device the driver lists, usable or not: what `germ doctor` shows. */
export function cudaDeviceReport(): CudaDeviceReport[] {
  return native()
    .cudaDeviceReport()
    .map((d) => ({ ...gpuInfo(d), usable: d.usable, reason: d.reason }));
}

/** 'cuda:0' when a GPU is usable, else 'cpu': the quiet fallback (buildInfo().gpuReason says why). */
export function defaultDevice(): string {
  return devices().length > 0 ? 'cuda:0' : 'cpu';
}

/**
 * Why no GPU is used, checked in this order:
 * - 'ok': at least one GPU runs this binary's kernels
 * - 'no-cuda-build': the binary was built without CUDA
 * - 'no-driver': no NVIDIA driver (libcuda.so.1 does not load)
 * - 'driver-too-old': the driver's CUDA is older than the binary's runtime accepts
 * - 'no-device': the driver lists no GPU (CUDA_VISIBLE_DEVICES may hide them)
 * - 'unsupported-gpu': GPUs exist, but none is in the binary's architectures
 */
export type GpuStatus = NativeGpuStatus;

export interface BuildInfo {
  /** This binary has the CUDA backend. */
  cuda: boolean;
  /** The CUDA architectures compiled in, e.g. '75-real,80-real,86-real,89-real,90'. */
  cudaArchitectures: string;
  /** The CUDA runtime built into the binary, e.g. '12.4'; null in a build without CUDA. */
  cudaRuntimeVersion: string | null;
  /** The newest CUDA the installed NVIDIA driver supports, e.g. '13.0'; null without a driver. */
  driverCudaVersion: string | null;
  /** Whether a GPU is used, or the first reason why not. */
  gpuStatus: GpuStatus;
  /** A sentence saying why no GPU is used; null when gpuStatus is 'ok'. */
  gpuReason: string | null;
  /** The CPU kernels in use: 'avx2+fma', or 'generic' (no AVX2, or GERM_CPU_ISA=generic). */
  cpuIsa: string;
}

export function buildInfo(): BuildInfo {
  const b = native().buildInfo();
  return {
    cuda: b.cuda,
    cudaArchitectures: b.cudaArchitectures,
    cudaRuntimeVersion: b.cudaRuntimeVersion,
    driverCudaVersion: b.driverCudaVersion,
    gpuStatus: b.gpuStatus,
    gpuReason: b.gpuReason,
    cpuIsa: b.cpuIsa,
  };
}

export interface MemoryStats {
  /** Bytes held by live tensors (and queued work). */
  allocatedBytes: number;
  /** allocatedBytes plus blocks cached for reuse (CUDA). */
  reservedBytes: number;
  peakAllocatedBytes: number;
  /** Allocation requests served ... */
  allocCalls: number;
  /** ... of which reached cudaMalloc / the system allocator. */
  deviceAllocCalls: number;
}

export function memoryStats(device = 'cpu'): MemoryStats {
  return native().memoryStats(device);
}

/** Returns cached, unused device blocks to the driver. */
export function emptyCache(device: string): void {
  native().emptyCache(device);
}

/** Resolves when every op queued so far on the device has finished. */
export function synchronize(device: string): Promise<void> {
  return native().synchronize(device);
}

/** Threads of the CPU backend's intra-op pool (default: GERM_NUM_THREADS or all cores). */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}
export function numThreads(): number {
  return native().numThreads();
}
