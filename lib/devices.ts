// What hardware germ sees, and per-device memory and synchronisation.
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

/** The CUDA GPUs germ can use; empty without a GPU, a driver, or a CUDA build. */
export function devices(): GpuInfo[] {
  return native()
    .devices()
    .filter((d) => d.device !== 'cpu')
    .map((d) => ({
      device: d.device,
      name: d.name,
      computeCapability: `${d.computeCapability[0]}.${d.computeCapability[1]}`,
      totalMemory: d.totalMemory,
      multiprocessors: d.multiprocessors,
    }));
}

/** 'cuda:0' when a GPU is usable, else 'cpu': the quiet fallback. */
export function defaultDevice(): string {
  return devices().length > 0 ? 'cuda:0' : 'cpu';
}

export interface BuildInfo {
  /** This binary has the CUDA backend. */
  cuda: boolean;
  /** The CUDA architectures compiled in, e.g. '75-real;80-real;86-real;89-real;90'. */
  cudaArchitectures: string;
}

export function buildInfo(): BuildInfo {
  const b = native().buildInfo();
  return { cuda: b.cuda, cudaArchitectures: b.cudaArchitectures };
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
