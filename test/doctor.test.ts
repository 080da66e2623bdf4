// Why the GPU is or is not used: buildInfo()'s status and reason, ERR_DEVICE
// errors that carry the reason, and `germ doctor` run in process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { type DoctorReport, buildInfo, cudaDeviceReport, devices, doctor, tensor } from '../lib/index';
import { parseNvidiaDriverVersion } from '../lib/doctor';
import { germ } from './helpers/cli';
import { HAS_CUDA } from './helpers/devices';

const STATUSES = ['ok', 'no-cuda-build', 'no-driver', 'driver-too-old', 'no-device', 'unsupported-gpu'];
const info = buildInfo();

// Whether the dynamic loader finds the driver library, asked in a child
// process: an answer apart from the addon's own CUDA runtime.
function driverLibraryLoads(): boolean {
  const probe = "try { process.dlopen({ exports: {} }, 'libcuda.so.1') } catch (e) { console.log(e.message) }";
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  return !/cannot open shared object file/.test(r.stdout);
}
const NO_DRIVER = info.cuda && !driverLibraryLoads();

/** `it` where `when` holds; elsewhere skipped, with the reason in its name. */
function itWhere(when: boolean, skipped: string) {
  return (name: string, fn: () => Promise<void> | void) => (when ? it(name, fn) : it.skip(`${name} (skipped: ${skipped})`, fn));
}

function expectThrowsDeviceError(fn: () => unknown, reason: string): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'GermError', code: 'ERR_DEVICE', message: expect.stringContaining(reason) }));
}

it('buildInfo says whether a GPU is used, and why not', () => {
  expect(STATUSES).toContain(info.gpuStatus);
  expect(info.gpuStatus === 'ok').toBe(HAS_CUDA);
  if (info.gpuStatus === 'ok') expect(info.gpuReason).toBeNull();
  else expect(info.gpuReason).toMatch(/\w{3,}/);
  if (info.cuda) {
    expect(info.cudaRuntimeVersion).toMatch(/^1[23]\.\d+$/);
  } else {
    expect(info.cudaRuntimeVersion).toBeNull();
    expect(info.gpuStatus).toBe('no-cuda-build');
  }
  // A driver version is known exactly when a driver answered.
  if (info.driverCudaVersion !== null) expect(info.driverCudaVersion).toMatch(/^\d+\.\d+$/);
  expect(info.driverCudaVersion === null).toBe(['no-cuda-build', 'no-driver'].includes(info.gpuStatus));
  expect(['avx2+fma', 'generic']).toContain(info.cpuIsa);
});

itWhere(NO_DRIVER, 'libcuda.so.1 loads here, or no CUDA build')('a CUDA build with no driver library says no-driver', () => {
  expect(info.gpuStatus).toBe('no-driver');
  expect(info.gpuReason).toContain('libcuda.so.1');
  expect(info.driverCudaVersion).toBeNull();
  expect(cudaDeviceReport()).toEqual([]);
});

it('devices() are the usable ones of every device the driver lists, and the others say why', () => {
  const all = cudaDeviceReport();
  expect(devices()).toEqual(all.filter((d) => d.usable).map(({ usable: _u, reason: _r, ...gpu }) => gpu));
  for (const d of all) {
    expect(d.device).toMatch(/^cuda:\d+$/);
    if (d.usable) expect(d.reason).toBeNull();
    else expect(d.reason).toContain(d.device);
  }
});

itWhere(!HAS_CUDA, 'a CUDA device is usable')('moving a tensor to a GPU is ERR_DEVICE with the reason', () => {
  const reason = info.gpuReason!;
  expectThrowsDeviceError(() => tensor([1, 2, 3]).to('cuda:0'), reason);
  expectThrowsDeviceError(() => tensor([1, 2, 3], undefined, { device: 'cuda' }), reason);
});

it('a device past the last one is ERR_DEVICE saying what there is', () => {
  const count = cudaDeviceReport().length;
  expectThrowsDeviceError(() => tensor([1]).to(`cuda:${count}`), info.gpuReason ?? `${count} CUDA device(s) visible`);
});

it('doctor() reports the binary, the build, and one passing check per usable GPU', async () => {
  const report = await doctor();
  expect(report.binary).toMatch(/\.node$/);
  expect(existsSync(report.binary!)).toBe(true);
  expect(report.build).toEqual(info);
  expect(report.gpus).toEqual(cudaDeviceReport());
  expect(report.cpu.threads).toBeGreaterThan(0);
  expect(report.checks.map((c) => c.device)).toEqual(devices().map((d) => d.device));
  for (const c of report.checks) expect(c, c.device).toMatchObject({ ok: true, error: null });
  expect(report).toMatchObject({ ok: true, problems: [] });
  expect((await doctor({ run: false })).checks).toEqual([]);
});

itWhere(HAS_CUDA, 'no CUDA device')('on a GPU: status ok, and each GPU computes what the CPU does', async () => {
  const report = await doctor({ requireCuda: true });
  expect(report.build.gpuStatus).toBe('ok');
  expect(report.checks.length).toBeGreaterThan(0);
  for (const c of report.checks) {
    expect(c.ok, c.error ?? '').toBe(true);
    expect(c.maxError).toBeLessThanOrEqual(1e-4);
    expect(c.ms).toBeGreaterThan(0);
    expect(c.warmMs).toBeGreaterThan(0);
  }
  expect(report.ok).toBe(true);
});

it("reads the driver's version from either form of /proc/driver/nvidia/version", () => {
  const version = '580.159.04';
  expect(parseNvidiaDriverVersion(`NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  ${version}  Release Build  (nixbld@)\n` +
    'GCC version:  gcc version 14.2.1\n')).toBe(version);
  expect(parseNvidiaDriverVersion(`NVRM version: NVIDIA UNIX x86_64 Kernel Module  ${version}  Sat Aug 19 01:15:15 UTC 2023\n`)).toBe(version);
  expect(parseNvidiaDriverVersion('')).toBeNull();
});

it('germ doctor prints what it found and exits 0, GPU or not', async () => {
  const r = await germ(['doctor']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout.split('\n')[0]).toMatch(/^binary\s+\S+\.node$/);
  expect(r.stdout).toContain((await doctor({ run: false })).binary!);
  expect(r.stdout).toMatch(new RegExp(`^gpu\\s+.*${info.gpuStatus}`, 'm'));
  if (info.gpuReason) expect(r.stdout).toContain(info.gpuReason);
  for (const d of cudaDeviceReport()) expect(r.stdout).toMatch(new RegExp(`^${d.device}\\s`, 'm'));
});

it(`germ doctor --cuda exits ${HAS_CUDA ? 0 : 1} ${HAS_CUDA ? 'with' : 'without'} a usable GPU`, async () => {
  const r = await germ(['doctor', '--cuda']);
  expect(r.code).toBe(HAS_CUDA ? 0 : 1);
  if (HAS_CUDA) {
    expect(r.stderr).toBe('');
  } else {
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(info.gpuReason!);
    expect(r.stderr).toContain('(ERR_DEVICE)');
  }
});

it('germ doctor --json prints the report as JSON', async () => {
  const r = await germ(['doctor', '--json']);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as DoctorReport;
  expect(report.build).toEqual(info);
  expect(report.gpus).toEqual(cudaDeviceReport());
  expect(report.checks.every((c) => c.ok)).toBe(true);
  expect(report.ok).toBe(true);
});
