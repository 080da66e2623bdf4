// doctor(): what germ sees on this machine and why a GPU is or is not used,
// then one tiny real computation per usable GPU through the public API,
// checked against the CPU. `germ doctor` prints it (lib/cli/doctor.ts).
import { readFileSync } from 'node:fs';
import { type BuildInfo, type CudaDeviceReport, buildInfo, cudaDeviceReport, numThreads } from './devices';
import { optionsArg } from './dtype';
import { nativePath } from './native';
import { linear, tensor } from './ops';
import type { Tensor } from './tensor';

export interface DoctorOptions {
  /** Run the tiny computation on each usable GPU (default true). */
  run?: boolean;
  /** A GPU is required: the report is not ok unless one is usable (`germ doctor --cuda`). */
  requireCuda?: boolean;
}

export interface DeviceCheck {
  device: string;
  ok: boolean;
  /** Wall time of the first run: upload, compute and read back, plus the device's setup (and any PTX JIT). */
  ms: number;
  /** Wall time of a second, identical run; null when the first failed. */
  warmMs: number | null;
  /** The largest difference from the CPU's answer; null when the run failed. */
  maxError: number | null;
  /** What went wrong; null when ok. */
  error: string | null;
}

export interface DoctorReport {
  /** The native addon file that was loaded. */
  binary: string | null;
  node: string;
  platform: string;
  /** The C library's version (glibc); null elsewhere (musl). */
  glibc: string | null;
  /** The NVIDIA kernel module's version from /proc/driver/nvidia/version; null when no driver is loaded. */
  nvidiaDriver: string | null;
  build: BuildInfo;
  /** Every CUDA device the driver lists, usable or not, with the reason when not. */
  gpus: CudaDeviceReport[];
  cpu: { isa: string; threads: number };
  /** One tiny computation per usable GPU, compared with the CPU. */
  checks: DeviceCheck[];
  /** No check failed and, with requireCuda, a GPU is usable. */
  ok: boolean;
  /** Why ok is false; empty when it is true. */
  problems: string[];
}

function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

/**
 * The driver's version from /proc/driver/nvidia/version's first line, in
 * either form: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar ..."
 * or "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ...".
 */
export function parseNvidiaDriverVersion(text: string): string | null {
  return /\s(\d+\.\d+(?:\.\d+)?)\s/.exec(text.split('\n')[0] + ' ')?.[1] ?? null;
}

function nvidiaDriverVersion(): string | null {
  try {
    return parseNvidiaDriverVersion(readFileSync('/proc/driver/nvidia/version', 'utf8'));
  } catch {
    return null; // no driver loaded (or not Linux)
  }
}

// x [8, 64] @ w [32, 64]^T + b: multiples of 1/8 below 2 in magnitude, so every
// product and sum is exact in f32 and any device must match the CPU closely.
const M = 8, K = 64, N = 32;
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => (((i * 37 + seed) % 29) - 14) / 8);

async function runLinear(device: string): Promise<Float32Array> {
  const made: Tensor[] = [];
  const keep = (t: Tensor) => (made.push(t), t);
  try {
    const x = keep(tensor(values(M * K, 1), [M, K], { device }));
    const w = keep(tensor(values(N * K, 2), [N, K], { device }));
    const b = keep(tensor(values(N, 3), [N], { device }));
    return (await keep(linear(x, w, b)).data()) as Float32Array;
  } finally {
    for (const t of made) t.dispose();
  }
}

async function checkDevice(device: string, want: Float32Array): Promise<DeviceCheck> {
  let started = performance.now();
  let ms = 0;
  try {
    const got = await runLinear(device);
    ms = performance.now() - started;
    if (got.length !== want.length) throw new Error(`got ${got.length} values, expected ${want.length}`);
    let maxError = 0;
    for (let i = 0; i < want.length; i++) maxError = Math.max(maxError, Math.abs(got[i] - want[i]));
    started = performance.now();
    await runLinear(device);
    const warmMs = performance.now() - started;
    const ok = maxError <= 1e-4; // NaN fails too
    return { device, ok, ms, warmMs, maxError, error: ok ? null : `differs from the CPU by up to ${maxError}` };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { device, ok: false, ms: ms || performance.now() - started, warmMs: null, maxError: null, error };
  }
}

/** What germ sees here and whether each usable GPU computes right. */
export async function doctor(opts?: DoctorOptions): Promise<DoctorReport> {
  const options = optionsArg(opts, 'doctor');
  const build = buildInfo();
  const gpus = cudaDeviceReport();
  const checks: DeviceCheck[] = [];
  const usable = gpus.filter((g) => g.usable);
  if ((options.run ?? true) && usable.length > 0) {
    const want = await runLinear('cpu');
    for (const g of usable) checks.push(await checkDevice(g.device, want));
  }
  const problems = checks.filter((c) => !c.ok).map((c) => `${c.device}: the check failed: ${c.error}`);
  if (options.requireCuda && usable.length === 0)
    problems.unshift(`a GPU is required but none is usable: ${build.gpuReason ?? 'no CUDA device'}`);
  return {
    binary: nativePath() ?? null,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    glibc: glibcVersion(),
    nvidiaDriver: nvidiaDriverVersion(),
    build,
    gpus,
    cpu: { isa: build.cpuIsa, threads: numThreads() },
    checks,
    ok: problems.length === 0,
    problems,
  };
}
