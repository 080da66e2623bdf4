// `germ doctor`: doctor()'s report (lib/doctor.ts) on stdout, as aligned rows
// or as JSON with --json. A report that is not ok (a GPU's check failed, or
// --cuda and no usable GPU) ends in an error, so the exit code is 1.
import { type DeviceCheck, type DoctorReport, doctor } from '../doctor';
import type { CudaDeviceReport } from '../devices';
import { GermError } from '../errors';
import type { CliIO } from './commands';

export interface DoctorCliOptions {
  cuda?: boolean;
  json?: boolean;
}

function gpuRow(g: CudaDeviceReport): string {
  if (!g.usable) return `not usable: ${g.reason}`;
  const gib = (g.totalMemory / 2 ** 30).toFixed(1);
  return `${g.name} (sm_${g.computeCapability.replace('.', '')}, ${gib} GiB, ${g.multiprocessors} SMs): usable`;
}

function checkRow(c: DeviceCheck): string {
  if (!c.ok) return `FAILED after ${c.ms.toFixed(1)} ms: ${c.error}`;
  return `ok: a small linear matches the CPU; ${c.ms.toFixed(1)} ms the first time (device setup included), ${c.warmMs!.toFixed(1)} ms the next`;
}

function rows(r: DoctorReport): [string, string][] {
  const b = r.build;
  const gpu = b.gpuStatus === 'ok'
    ? `ok: ${r.gpus.filter((g) => g.usable).length} of ${r.gpus.length} device(s) usable`
    : `not used (${b.gpuStatus}): ${b.gpuReason}; germ runs on the CPU`;
  return [
    ['binary', r.binary ?? 'not loaded'],
    ['node', `${r.node} (${r.platform}${r.glibc ? `, glibc ${r.glibc}` : ''})`],
    ['cuda build', b.cuda ? `yes: runtime ${b.cudaRuntimeVersion}, architectures ${b.cudaArchitectures}` : 'no (CPU only)'],
    ['nvidia driver', r.nvidiaDriver ?? 'none (no /proc/driver/nvidia/version)'],
    ['driver cuda', b.driverCudaVersion ?? 'none'],
    ['cpu', `${r.cpu.isa} kernels, ${r.cpu.threads} threads`],
    ['gpu', gpu],
    ...r.gpus.map((g): [string, string] => [g.device, gpuRow(g)]),
    ...r.checks.map((c): [string, string] => [`check ${c.device}`, checkRow(c)]),
  ];
}

export async function doctorCommand(io: CliIO, o: DoctorCliOptions): Promise<void> {
  const report = await doctor({ requireCuda: o.cuda ?? false });
  if (o.json) {
    io.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const table = rows(report);
    const width = Math.max(...table.map(([k]) => k.length)) + 2;
    io.stdout.write(table.map(([k, v]) => `${k.padEnd(width)}${v}\n`).join(''));
  }
  if (!report.ok) throw new GermError(report.problems.join('; '), 'ERR_DEVICE');
}
